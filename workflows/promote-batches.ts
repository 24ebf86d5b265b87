/**
 * Running a range of Promote batches, a few activities at a time, and adding up their summaries.
 * Used by PromotionWorkflow itself and by its promoteRangeWorkflow children (./promote.ts).
 */
import { ActivityFailure, isCancellation, type ActivityInterfaceFor } from '@temporalio/workflow';
import { LONG } from './activity-options';
import type { Activities } from '../activities';
import type { PromoteBatchArgs } from '../lib/run/input';
import type { PromoteBatchSummary, PromoteSummary } from '../lib/run/outcomes';
import { addTransfer, emptyTransfer, sumCounts } from '../lib/run/counts';
import { rootMessage } from './phase-tracker';

export type PromoteActivities = ActivityInterfaceFor<Pick<Activities, 'promoteBatch'>>;
export type BatchArgs = Omit<PromoteBatchArgs, 'batch'>;
export interface BatchProgress {
  done: number;
  total: number;
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
      try {
        const result = await acts.promoteBatch.executeWithOptions({ ...LONG, summary: `Promote: batch ${batch + 1} of ${progress.total}` }, [
          { ...args, batch },
        ]);
        sofar = mergeSummaries(sofar, fromBatch(result));
      } catch (err) {
        // One bad batch must not block everyone: its edges are marked failed, the others go on.
        if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
        sofar = mergeSummaries(sofar, { ...emptySummary(), batches: 1, failedBatches: [{ batch, error: rootMessage(err) }] });
      }
      progress.done++;
      onBatchDone(sofar);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, to - from)) }, lane));
  // Keys in batch order, whatever order the lanes finished in.
  sofar.resultKeys.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return sofar;
}

export function emptySummary(): PromoteSummary {
  return { batches: 0, promotedEdges: 0, alreadyPresent: 0, failedEdges: 0, tagMoves: 0, lost: 0, failureCount: 0, transfer: emptyTransfer(), resultKeys: [] };
}

function fromBatch(b: PromoteBatchSummary): PromoteSummary {
  return {
    batches: 1,
    promotedEdges: b.promotedEdges,
    alreadyPresent: b.alreadyPresent ?? 0,
    failedEdges: b.failedEdges,
    tagMoves: b.tagMoves,
    lost: b.lost,
    failureCount: b.failureCount,
    transfer: b.transfer,
    resultKeys: [b.resultKey],
  };
}

export function mergeSummaries(a: PromoteSummary, b: PromoteSummary): PromoteSummary {
  const counts = (s: PromoteSummary) => ({
    batches: s.batches,
    promotedEdges: s.promotedEdges,
    alreadyPresent: s.alreadyPresent ?? 0,
    failedEdges: s.failedEdges,
    tagMoves: s.tagMoves,
    lost: s.lost,
    failureCount: s.failureCount,
  });
  const failedBatches = [...(a.failedBatches ?? []), ...(b.failedBatches ?? [])];
  return {
    ...sumCounts(counts(a), counts(b)),
    transfer: addTransfer(a.transfer, b.transfer),
    resultKeys: [...a.resultKeys, ...b.resultKeys],
    ...(failedBatches.length > 0 ? { failedBatches } : {}),
  };
}
