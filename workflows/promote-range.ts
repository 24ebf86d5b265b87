import { proxyActivities, setWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { LONG } from './activity-options';
import type { PromoteSummary } from '../lib/run/outcomes';
import { runBatches, type BatchArgs } from './promote-batches';
import { onVersionedWorkers } from './versioning';

const long = proxyActivities<Activities>(LONG);

/** A child of PromotionWorkflow that promotes the batches [from, to) of a large plan. */
export async function promoteRangeWorkflow(a: { args: BatchArgs; from: number; to: number; total: number; parallel: number }): Promise<PromoteSummary> {
  // Batch numbers in summaries stay those of the whole plan.
  return runBatches(long, a.args, a.from, a.to, a.parallel, { done: 0, total: a.total }, () => {});
}

// A part of a pinned promotion runs on the same code as its parent.
setWorkflowOptions(onVersionedWorkers('PINNED'), promoteRangeWorkflow);
