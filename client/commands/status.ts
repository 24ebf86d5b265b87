/** `promoter status ID`: progress of a running run (the `progress` query), or the outcome of a finished one, and which worker version ran it. */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import proto from '@temporalio/proto';
import { loadConfig } from '../../lib/config';
import { progressQuery } from '../../workflows/promotion';
import { connectClient } from '../connect';
import { formatProgress, formatReport } from '../format';
import type { Output } from '../output';
import { exitCodeOf, noSuchRun, storedReport } from '../report-source';

const { temporal } = proto;

/** The Worker Deployment version a run is on (its workflow tasks go to), when versioned workers ran it. */
interface RunVersion {
  deploymentName: string;
  buildId: string;
  /** pinned: stays on this version to the end; auto_upgrade: moves to the current version. */
  behavior: string;
}

function runVersion(desc: WorkflowExecutionDescription): RunVersion | undefined {
  const v = desc.raw.workflowExecutionInfo?.versioningInfo;
  const dv = v?.deploymentVersion;
  if (!dv?.buildId) return undefined;
  const behaviors = temporal.api.enums.v1.VersioningBehavior as unknown as Record<string, unknown>;
  const name = Object.keys(behaviors).find((k) => behaviors[k] === v?.behavior) ?? 'VERSIONING_BEHAVIOR_UNSPECIFIED';
  const behavior = name.replace('VERSIONING_BEHAVIOR_', '').toLowerCase();
  return { deploymentName: dv.deploymentName ?? '', buildId: dv.buildId, behavior };
}

const versionLine = (v: RunVersion | undefined): string =>
  v ? `worker version: ${v.deploymentName} ${v.buildId} (${v.behavior})` : 'worker version: unversioned workers';

export async function statusCommand(id: string, opts: { json?: boolean }, out: Output): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient();
  try {
    const handle = client.workflow.getHandle(id);
    const desc = await handle.describe().catch((err: Error) => {
      throw noSuchRun(id, err);
    });
    const version = runVersion(desc);
    if (desc.status.name === 'RUNNING') {
      const progress = await handle.query(progressQuery);
      if (opts.json) out.json({ ...progress, ...(version ? { version } : {}) });
      else out.print(`${formatProgress(progress)}\n${versionLine(version)}`);
      return 0;
    }
    const report = await storedReport(client, config, id);
    if (report === 'running') return 0;
    if (opts.json) out.json({ workflowId: id, status: report.status, phases: report.phases, edges: report.edges, ...(version ? { version } : {}) });
    else out.print(`${formatReport(report, 5)}\n${versionLine(version)}`);
    return exitCodeOf(report);
  } finally {
    await close();
  }
}
