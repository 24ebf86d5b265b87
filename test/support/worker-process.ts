// A worker as its own OS process, the way it runs in production, so tests can SIGKILL it: the
// launcher the benchmark uses too, on a test's task queue.
import { startWorkerProcess as start, type WorkerProcess } from '../../scripts/dev/worker-process';

export type { WorkerProcess };

/**
 * `compiled`: the built artifact (`promoter worker`, dist/ and its prebuilt workflow bundle) instead
 * of the TypeScript sources; either way the pid is the worker's own (Temporal identity pid@host).
 */
export function startWorkerProcess(taskQueue: string, env: Record<string, string | undefined> = {}, opts: { compiled?: boolean } = {}): Promise<WorkerProcess> {
  return start({ env: { PROMOTER_TASK_QUEUE: taskQueue, ...env }, ...(opts.compiled ? { compiled: true } : {}) });
}
