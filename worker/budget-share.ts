/**
 * One registry budget for all workers, not one per process: every worker takes 1/N of each
 * registry's budget (PROMOTER_REGISTRY_RPS, _BURST, _CONCURRENCY), N being the workers Temporal
 * sees polling the task queue for activities. Adding a worker therefore spreads the work, never
 * the load on a registry. A worker that died stays counted until Temporal forgets its poller (a
 * minute or two): the others run a little under budget meanwhile, never over.
 */
import proto from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { RegistryTelemetry } from '../activities/shared/registry-adapter';

// A CommonJS package: its namespace comes through the default export under Node's ESM loader.
const { temporal } = proto;

/** A poller not seen for this long is a worker gone. */
const POLLER_STALE_MS = 90_000;

async function liveWorkers(connection: NativeConnection, namespace: string, taskQueue: string): Promise<number> {
  const res = await connection.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  const identities = new Set<string>();
  for (const p of res.pollers ?? []) {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    if (now - seconds * 1000 <= POLLER_STALE_MS && p.identity) identities.add(p.identity);
  }
  return identities.size;
}

/** Keeps the registry budget share at 1/N; returns the stop function. */
export function shareRegistryBudget(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  telemetry: RegistryTelemetry,
  log: Logger,
  everyMs = 5_000,
): () => void {
  let current = 1;
  const tick = async (): Promise<void> => {
    try {
      const n = Math.max(1, await liveWorkers(connection, namespace, taskQueue));
      if (n !== current) {
        current = n;
        telemetry.setBudgetShare(1 / n);
        log.info({ workers: n, share: 1 / n }, 'registry budget shared among workers');
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not count the workers on the task queue; keeping the budget share');
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
