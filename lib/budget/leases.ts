/**
 * The registry budget's lease table: which worker holds which part of every registry host's
 * budget (PROMOTER_REGISTRY_RPS, _BURST, _CONCURRENCY). Pure and deterministic, so the budget
 * coordinator workflow (workflows/budget-coordinator.ts) can keep it in its state.
 *
 * Three promises, and how the table keeps them:
 * - never over budget together: a grant is at most what the other live grants leave free, so the
 *   live grants never sum past the whole budget. A worker whose fair part is still held by another
 *   gets only what is free, and the rest once the holder has renewed at its new, smaller part;
 * - work-conserving: an idle worker (no activity running) keeps only a small floor, so the busy
 *   ones share the rest; when every worker is idle they split it evenly (nobody needs more);
 * - quick recovery: a lease lives for its time to live and is renewed well inside it; a worker that
 *   died stops renewing, its lease lapses, and the survivors take its part at their next renewal.
 */

/** What an idle worker keeps while others are busy: enough to start its next activity at once. */
export const IDLE_SHARE = 0.05;

/** The smallest part ever granted: a worker whose fair part is still held elsewhere waits on this. */
export const MIN_SHARE = 0.001;

interface Lease {
  worker: string;
  busy: boolean;
  /** The part of the budget granted at the last renewal (0 < share <= 1). */
  share: number;
  /** Workflow time (ms) after which the lease no longer counts. */
  expiresAt: number;
}

export interface LeaseRequest {
  /** The worker's identity (the same one its pollers report). */
  worker: string;
  /** Whether the worker runs an activity now. */
  busy: boolean;
  /** How long the grant holds without a renewal. */
  ttlMs: number;
}

export interface LeaseGrant {
  /** This worker's part of every registry host's budget. */
  share: number;
  /** Workers holding a live lease, this one included. */
  workers: number;
  busyWorkers: number;
  /** When the grant lapses (workflow time, ms): the worker falls back before then if it cannot renew. */
  expiresAt: number;
}

/** The table's state as the coordinator carries it across continue-as-new. */
export type LeaseTable = Lease[];

/** Drops the leases that lapsed before `now`. */
export function live(table: LeaseTable, now: number): LeaseTable {
  return table.filter((l) => l.expiresAt >= now);
}

/** The fair part of the budget for a worker in this state, given who else holds a live lease. */
function fairShare(busy: boolean, others: readonly Lease[]): number {
  const busyOthers = others.filter((l) => l.busy).length;
  const idleOthers = others.length - busyOthers;
  if (!busy) {
    // Every worker idle: split evenly. Someone busy: keep the floor and leave them the rest.
    return busyOthers === 0 ? 1 / (others.length + 1) : IDLE_SHARE;
  }
  return Math.max(MIN_SHARE, (1 - IDLE_SHARE * idleOthers) / (busyOthers + 1));
}

/**
 * Renews (or takes) a worker's lease at workflow time `now`: the new table and the grant. The grant
 * is the fair part, cut to what the others' live grants leave free.
 */
export function renew(table: LeaseTable, req: LeaseRequest, now: number): { table: LeaseTable; grant: LeaseGrant } {
  const others = live(table, now).filter((l) => l.worker !== req.worker);
  const held = others.reduce((sum, l) => sum + l.share, 0);
  const free = Math.max(0, 1 - held);
  const share = Math.max(MIN_SHARE, Math.min(fairShare(req.busy, others), free));
  const lease: Lease = { worker: req.worker, busy: req.busy, share, expiresAt: now + req.ttlMs };
  const next = [...others, lease].sort((a, b) => a.worker.localeCompare(b.worker));
  return { table: next, grant: { share, workers: next.length, busyWorkers: next.filter((l) => l.busy).length, expiresAt: lease.expiresAt } };
}

/** A worker that stops (gracefully) gives its part back at once rather than letting it lapse. */
export function release(table: LeaseTable, worker: string): LeaseTable {
  return table.filter((l) => l.worker !== worker);
}
