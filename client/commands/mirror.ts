/** `promoter mirror-signatures`: one re-mirroring run now (the schedule runs the same workflow nightly). */
import { loadConfig, workflowUrl } from '../../lib/config';
import type { MirrorInput, MirrorReport } from '../../lib/run/mirror-types';
import { signatureMirrorWorkflow } from '../../workflows/signature-mirror';
import { connectClient } from '../connect';
import type { ManifestSource } from '../load-manifests';
import type { Output } from '../output';
import { givenBundleKey } from '../store-bundle';

export async function mirrorCommand(
  opts: ManifestSource & { confirm?: boolean; verify?: boolean; wait?: boolean; json?: boolean },
  out: Output,
): Promise<number> {
  const config = loadConfig();
  // Default: the manifests of the last confirmed promotion. Given manifests: exactly those.
  const given = await givenBundleKey(config, opts, out);
  if (typeof given === 'number') return given;
  const { bundleKey } = given;
  const { client, namespace, close } = await connectClient();
  try {
    const input: MirrorInput = { confirm: !!opts.confirm, ...(opts.verify ? { verify: true } : {}), ...(bundleKey ? { bundleKey } : {}) };
    const workflowId = `mirror-signatures-manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(signatureMirrorWorkflow, { taskQueue: config.temporal.taskQueue, workflowId, args: [input] });
    out.info(`signature mirroring ${workflowId}${input.confirm ? '' : ' (dry run)'}`);
    out.info(`Temporal UI: ${workflowUrl(config, namespace, workflowId)}`);
    if (!opts.wait) {
      if (opts.json) out.json({ workflowId, runId: handle.firstExecutionRunId });
      return 0;
    }
    const report: MirrorReport = await handle.result();
    if (opts.json) out.json(report);
    else {
      out.print(
        `${report.status}: ${report.digests} digests checked, ${report.signedNow} signed now, ${report.mirrored} signatures copied, ${report.alreadyInSync} in sync`,
      );
      for (const f of report.failures.slice(0, 20)) out.print(`  ${f.edge}: ${f.error}`);
    }
    return report.status === 'failed' ? 1 : 0;
  } finally {
    await close();
  }
}
