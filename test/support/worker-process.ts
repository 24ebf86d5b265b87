// A worker as its own OS process, the way it runs in production, so tests can SIGKILL it: the
// launcher the benchmark uses too, on a test's task queue.
import { startWorkerProcess as start, type WorkerProcess } from '../../scripts/dev/worker-process';

export type { WorkerProcess };

export function startWorkerProcess(taskQueue: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  return start({ env: { PROMOTER_TASK_QUEUE: taskQueue, ...env } });
}
