/** `promoter run`: put the manifests in the audit bucket, start (or attach to) the run, optionally wait. */
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import { loadConfig, workflowUrl } from '../../lib/config';
import { DEFAULT_RUN_OPTIONS, promotionWorkflowId, type PromotionInput } from '../../lib/run/input';
import type { RunReport } from '../../lib/run/report';
import { promotionWorkflow } from '../../workflows/promotion';
import { DRY_RUN_KEY, STATUS_KEY } from '../../workflows/search-attributes';
import { connectClient } from '../connect';
import { formatReport } from '../format';
import { loadManifests, type ManifestSource } from '../load-manifests';
import { awaitReport, exitCodeOf } from '../report-source';
import { showProgress } from '../progress-bar';
import { printManifestErrors, type Output } from '../output';
import { storeBundle } from '../store-bundle';

export interface RunOptions extends ManifestSource {
  confirm?: boolean;
  wait?: boolean;
  json?: boolean;
  batchSize?: number;
  parallelBatches?: number;
  batchesPerWorkflow?: number;
  verifyTags?: boolean;
}

export async function runCommand(opts: RunOptions, out: Output): Promise<number> {
  const { result, origin } = await loadManifests(opts);
  if (!result.bundle) {
    printManifestErrors(result.errors, out, opts.json);
    return 2;
  }
  const config = loadConfig();
  const { key, sha } = await storeBundle(config, result.bundle);

  const input: PromotionInput = {
    bundleKey: key,
    bundleSha256: sha,
    confirm: !!opts.confirm,
    options: {
      batchSize: opts.batchSize ?? DEFAULT_RUN_OPTIONS.batchSize,
      parallelBatches: opts.parallelBatches ?? DEFAULT_RUN_OPTIONS.parallelBatches,
      batchesPerWorkflow: opts.batchesPerWorkflow ?? DEFAULT_RUN_OPTIONS.batchesPerWorkflow,
      ...(opts.verifyTags ? { verifyTags: true } : {}),
    },
    origin,
  };
  const workflowId = promotionWorkflowId(sha, input.confirm);
  const { client, namespace, close } = await connectClient();
  try {
    // Same manifests while a run is going on: attach to it rather than start a second one.
    const handle = await client.workflow.start(promotionWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [
        { key: DRY_RUN_KEY, value: !input.confirm },
        { key: STATUS_KEY, value: 'running' },
      ],
      // What the UI's run list shows: which kind of run, of what, how big.
      staticSummary: `${input.confirm ? 'promotion' : 'dry run'}: ${plural(result.counts.projects, 'project')}, ${plural(result.counts.uniqueEdges, 'edge')} (${origin})`,
      staticDetails: [
        `**${input.confirm ? 'Promotion' : 'Dry run (stops after Validate)'}** of \`${origin}\``,
        '',
        `- ${plural(result.counts.projects, 'project')}, ${plural(result.counts.images, 'image')}, ${plural(result.counts.digests, 'digest')}, ${plural(result.counts.uniqueEdges, 'edge')}`,
        `- manifest bundle \`${key}\``,
      ].join('\n'),
    });
    const url = workflowUrl(config, namespace, workflowId);
    out.info(`${input.confirm ? 'promotion' : 'dry run'} ${workflowId} (run ${handle.firstExecutionRunId})`);
    out.info(`Temporal UI: ${url}`);
    if (!opts.wait) {
      if (opts.json) out.json({ workflowId, runId: handle.firstExecutionRunId, url });
      return 0;
    }
    const stopProgress = opts.json ? () => {} : showProgress(handle);
    let report: RunReport;
    try {
      report = await awaitReport(client, workflowId);
    } finally {
      stopProgress();
    }
    if (opts.json) out.json(report);
    else out.print(formatReport(report));
    return exitCodeOf(report);
  } finally {
    await close();
  }
}

const plural = (n: number, what: string): string => `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
