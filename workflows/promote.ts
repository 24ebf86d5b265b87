/**
 * Promote runs as batches of copy tasks, a few activities at a time. Past a few hundred batches
 * the work fans out to child workflows, so that no history grows beyond a few thousand events
 * (the real registry has ~1 M edges).
 */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { PromoteSummary } from '../lib/run/outcomes';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../lib/run/input';
import { emptySummary, mergeSummaries, runBatches, type BatchArgs, type BatchProgress, type PromoteActivities } from './promote-batches';
import { promoteRangeWorkflow } from './promote-range';

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
    const part = await executeChild(promoteRangeWorkflow, {
      workflowId: `${parent}-promote-${range.from}`,
      args: [{ args, ...range, total, parallel: options.parallelBatches }],
    });
    sofar = mergeSummaries(sofar, part);
    progress.done = range.to;
    onBatchDone(sofar);
  }
  return sofar;
}
