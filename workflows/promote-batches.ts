/**
 * Promote runs as batches of copy tasks, a few activities at a time. Past a few hundred batches
 * the work fans out to child workflows, so that no history grows beyond a few thousand events
 * (the real registry has ~1 M edges).
 */
import { executeChild, workflowInfo, type ActivityInterfaceFor } from '@temporalio/workflow';
import { LONG } from './activity-options';
import type { Activities } from '../activities';
import type { PromoteBatchArgs, PromoteBatchSummary, PromoteSummary, RunOptions } from '../lib/run/types';
import { addTransfer, DEFAULT_RUN_OPTIONS, emptyTransfer } from '../lib/run/types';

type PromoteActivities = ActivityInterfaceFor<Pick<Activities, 'promoteBatch'>>;
export type BatchArgs = Omit<PromoteBatchArgs, 'batch'>;
export interface BatchProgress {
  done: number;
  total: number;
}

export async function promoteAllBatches(
  acts: PromoteActivities,
  args: BatchArgs,
  copyTasks: number,
  options: RunOptions,
  progress: BatchProgress,
  onBatchDone: (sofar: PromoteSummary) => void,
): Promise<PromoteSummary> {
  const total = Math.ceil(copyTasks / options.batchSize);
  progress.total = total;
  // Runs started before this option existed carry no value: keep their behaviour (replay).
  const perWorkflow = options.batchesPerWorkflow ?? DEFAULT_RUN_OPTIONS.batchesPerWorkflow;
  if (total <= perWorkflow) {
    return runBatches(acts, args, 0, total, options.parallelBatches, progress, onBatchDone);
  }
  const ranges: { from: number; to: number }[] = [];
  for (let from = 0; from < total; from += perWorkflow) ranges.push({ from, to: Math.min(total, from + perWorkflow) });
  let sofar = emptySummary();
  const parent = workflowInfo().workflowId;
  // Children run one after another: each already uses the registries' whole budget.
  for (const range of ranges) {
    const part = await executeChild('promoteRangeWorkflow', {
      workflowId: `${parent}-promote-${range.from}`,
      args: [{ args, ...range, total, parallel: options.parallelBatches }],
    });
    sofar = mergeSummaries(sofar, part as PromoteSummary);
    progress.done = range.to;
    onBatchDone(sofar);
  }
  return sofar;
}

export async function runBatches(
  acts: PromoteActivities,
  args: BatchArgs,
  from: number,
  to: number,
  parallel: number,
  progress: BatchProgress,
  onBatchDone: (sofar: PromoteSummary) => void,
): Promise<PromoteSummary> {
  let next = from;
  let sofar = emptySummary();
  const lane = async (): Promise<void> => {
    while (next < to) {
      const batch = next++;
      const result = await acts.promoteBatch.executeWithOptions({ ...LONG, summary: `Promote: batch ${batch + 1} of ${progress.total}` }, [{ ...args, batch }]);
      sofar = mergeSummaries(sofar, fromBatch(result));
      progress.done++;
      onBatchDone(sofar);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, to - from)) }, lane));
  // Keys in batch order, whatever order the lanes finished in.
  sofar.resultKeys.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return sofar;
}

function emptySummary(): PromoteSummary {
  return { batches: 0, promotedEdges: 0, failedEdges: 0, tagMoves: 0, lost: 0, failureCount: 0, transfer: emptyTransfer(), resultKeys: [] };
}

function fromBatch(b: PromoteBatchSummary): PromoteSummary {
  return {
    batches: 1,
    promotedEdges: b.promotedEdges,
    failedEdges: b.failedEdges,
    tagMoves: b.tagMoves,
    lost: b.lost,
    failureCount: b.failureCount,
    transfer: b.transfer,
    resultKeys: [b.resultKey],
  };
}

export function mergeSummaries(a: PromoteSummary, b: PromoteSummary): PromoteSummary {
  return {
    batches: a.batches + b.batches,
    promotedEdges: a.promotedEdges + b.promotedEdges,
    failedEdges: a.failedEdges + b.failedEdges,
    tagMoves: a.tagMoves + b.tagMoves,
    lost: a.lost + b.lost,
    failureCount: a.failureCount + b.failureCount,
    transfer: addTransfer(a.transfer, b.transfer),
    resultKeys: [...a.resultKeys, ...b.resultKeys],
  };
}
