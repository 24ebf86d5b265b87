/**
 * One registry budget for all workers, not one per process. Every worker leases its part of each
 * registry host's budget (PROMOTER_REGISTRY_RPS, _BURST, _CONCURRENCY) from the task queue's budget
 * coordinator (workflows/budget-coordinator.ts), renewing every second a lease that lives 3 s, and
 * says whether it runs an activity. So a worker that died stops counting within 4 s, an idle worker
 * leaves its part to the busy ones, and the live grants never sum past the budget
 * (lib/budget/leases.ts says how).
 *
 * When the coordinator cannot be reached (Temporal away; a versioned deployment with no current
 * version to run it on), the worker falls back to counting the workers Temporal sees polling the
 * queue, and takes 1/N: under budget for a while after a worker died, never over.
 */
import proto from '@temporalio/proto';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { RegistryTelemetry } from '../activities/shared/registry-adapter';
import { MIN_SHARE, type LeaseGrant } from '../lib/budget/leases';
import { budgetCoordinatorId, budgetCoordinatorWorkflow, leaseUpdate, releaseUpdate } from '../workflows/budget-coordinator';

type ShareSink = Pick<RegistryTelemetry, 'setBudgetShare'>;

// A CommonJS package: its namespace comes through the default export under Node's ESM loader.
const { temporal } = proto;

/** How long a stopping worker waits to give its lease back. */
const RELEASE_DEADLINE_MS = 300;

/** A poller not seen for this long is a worker gone (the fallback's count only). */
const POLLER_STALE_MS = 90_000;

export interface BudgetShareOptions {
  /** How often the lease is renewed. */
  renewEveryMs?: number;
  /** How long a grant holds without renewal; a few renewals, so one slow call loses nothing. */
  ttlMs?: number;
}

export interface BudgetSharing {
  /** Stops renewing and gives the lease back, so the others take this worker's part at once. */
  stop: () => Promise<void>;
}

export interface BudgetShareTarget {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The worker's identity, as its pollers report it. */
  worker: string;
  /** Whether the worker runs an activity now. */
  busy: () => boolean;
}

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

/** Keeps this worker's part of the registry budget leased from the coordinator while the worker runs. */
export function shareRegistryBudget(target: BudgetShareTarget, telemetry: ShareSink, log: Logger, opts: BudgetShareOptions = {}): BudgetSharing {
  const renewEveryMs = opts.renewEveryMs ?? 1_000;
  const ttlMs = opts.ttlMs ?? 3 * renewEveryMs;
  const client = new Client({ connection: target.connection, namespace: target.namespace });
  const workflowId = budgetCoordinatorId(target.taskQueue);
  // Until the first grant (or the fallback, one time to live later): next to nothing, so a worker
  // joining busy ones never takes their part before the coordinator has taken it from them.
  let share = MIN_SHARE;
  // The fallback waits one time to live: the first lease may wait for this very worker to poll.
  let grantedUntil = Date.now() + ttlMs;
  let source: 'coordinator' | 'pollers' | 'start' = 'start';
  let renewing: Promise<void> | undefined;
  let stopped = false;
  telemetry.setBudgetShare(share);

  const apply = (next: number, from: typeof source, detail: Record<string, unknown>): void => {
    const prev = share;
    const prevSource = source;
    share = next;
    source = from;
    if (Math.abs(next - prev) > 1e-9) telemetry.setBudgetShare(next);
    // A steady share renews silently; a new source or a real change is worth a line.
    if (from !== prevSource || Math.abs(next - prev) > 0.01) log.info({ ...detail, share: Number(next.toFixed(3)), from }, 'registry budget share');
  };

  const lease = (): Promise<LeaseGrant> =>
    client.withDeadline(Date.now() + ttlMs, () =>
      client.workflow.executeUpdateWithStart(leaseUpdate, {
        args: [{ worker: target.worker, busy: target.busy(), ttlMs }],
        startWorkflowOperation: new WithStartWorkflowOperation(budgetCoordinatorWorkflow, {
          workflowId,
          taskQueue: target.taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [[]],
        }),
      }),
    );

  const fallBack = async (err: Error): Promise<void> => {
    if (Date.now() < grantedUntil) return; // the last grant still holds
    try {
      const n = Math.max(1, await liveWorkers(target.connection, target.namespace, target.taskQueue));
      apply(1 / n, 'pollers', { workers: n, reason: err.message });
    } catch (e) {
      if (source !== 'pollers') log.warn({ err: (e as Error).message }, 'could not lease a budget share nor count the workers; keeping the share');
    }
  };

  const tick = async (): Promise<void> => {
    try {
      const asked = Date.now();
      const grant = await lease();
      if (stopped) return;
      // Measured from when it was asked for: the coordinator's clock started the lease no earlier.
      grantedUntil = asked + ttlMs;
      apply(grant.share, 'coordinator', { workers: grant.workers, busyWorkers: grant.busyWorkers });
    } catch (err) {
      if (!stopped) await fallBack(err as Error);
    }
  };
  const renew = (): void => {
    if (renewing || stopped) return; // one call at a time: a slow one is not stacked on
    renewing = tick().finally(() => (renewing = undefined));
  };

  renew();
  const timer = setInterval(renew, renewEveryMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      // Quick, whatever Temporal does: a stopping worker's process should end soon after its last
      // checkpoint, and a renewal in flight is not waited for. Where other workers poll, the
      // release reaches the coordinator at once; where none does, the lease lapses in 3 s anyway.
      await client
        .withDeadline(Date.now() + RELEASE_DEADLINE_MS, () => client.workflow.getHandle(workflowId).executeUpdate(releaseUpdate, { args: [target.worker] }))
        .catch((err: Error) => log.debug({ err: err.message }, 'budget lease not given back; it lapses by itself'));
    },
  };
}
