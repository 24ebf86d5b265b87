/**
 * Live progress of a run on a terminal: the current phase and, during Promote, its batches.
 * Reads the workflow's `progress` query every half second; only on a TTY (never in --json mode).
 */
import { SingleBar, Presets } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery } from '../workflows/promotion';
import { PHASES } from '../lib/run/outcomes';

export function showProgress(handle: WorkflowHandle): () => void {
  if (!process.stderr.isTTY) return () => {};
  const bar = new SingleBar(
    { format: ' {phase} |{bar}| {value}/{total} {unit}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  bar.start(PHASES.length, 0, { phase: 'starting'.padEnd(10), unit: 'phases' });
  let stopped = false;
  const tick = async (): Promise<void> => {
    while (!stopped) {
      try {
        const p = await handle.query(progressQuery);
        if (p.currentPhase === 'promote' && p.batchesTotal > 0) {
          bar.setTotal(p.batchesTotal);
          bar.update(p.batchesDone, { phase: 'promote'.padEnd(10), unit: 'batches' });
        } else {
          const done = PHASES.filter((ph) => ['succeeded', 'skipped', 'failed'].includes(p.phases[ph].status)).length;
          bar.setTotal(PHASES.length);
          bar.update(done, { phase: String(p.currentPhase).padEnd(10), unit: 'phases' });
        }
      } catch {
        // not queryable yet (no worker has picked the run up), or already gone: try again
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  void tick();
  return () => {
    stopped = true;
    bar.stop();
  };
}
