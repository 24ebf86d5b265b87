/**
 * Promotion lanes: one per destination registry host. A confirmed run holds the lanes of every
 * host it writes to while it runs Promote, so two runs that could write the same tag never copy at
 * the same time (README, "Promotion lanes"). Plain data and rules here; the lane itself is a
 * workflow (workflows/lane.ts).
 */

/** A run asking for a lane. Plain data: it travels in signals and in the lane's history. */
export interface LaneRequest {
  workflowId: string;
  runId: string;
  /**
   * When the run's Plan started (workflow clock, ms). A holder that released the lane after this
   * may have written what the plan saw absent: the grant then says so (`contended`).
   */
  plannedAt: number;
}

/** The lane's answer once the run holds it. */
export interface LaneGrant {
  host: string;
  /**
   * Another run held this lane after the plan was made: the destinations may have changed since,
   * so Promote looks at every tag before it writes, also in repositories the plan found empty.
   */
  contended: boolean;
}

/** Who holds a lane a run is queued for (sent to the waiting runs whenever the holder changes). */
export interface LaneHolder {
  host: string;
  heldBy: string;
}

/** The lane a run waits for, as its progress query reports it. */
export interface LaneWait {
  host: string;
  /** The run that holds it, once the lane has said. */
  heldBy?: string;
  /** Since when (ISO time). */
  since: string;
}

/**
 * "waiting for lane HOST held by WORKFLOW-ID" (`promoter status`, the Temporal UI's current
 * details); "asking for lane HOST" until the lane has answered (a free lane answers with the grant).
 */
export function describeWait(w: LaneWait): string {
  return w.heldBy ? `waiting for lane ${w.host} held by ${w.heldBy}` : `asking for lane ${w.host}`;
}

/** What the lane answers to its query. */
export interface LaneState {
  host: string;
  holder?: string;
  waiting: string[];
  lastReleasedAt?: number;
}

/** The lane workflow's input, also what it carries over when it continues as new. */
export interface LaneInput {
  host: string;
  /** While others wait, how often the lane checks that its holder still runs (default LEASE_CHECK_MS). */
  leaseCheckMs?: number;
  /** A lane nobody holds or waits for ends after this long (default IDLE_MS). */
  idleMs?: number;
  queue?: LaneRequest[];
  lastReleasedAt?: number;
}

/**
 * An idle lane ends after this long, so that lanes of hosts (or task queues) no longer promoted to
 * do not linger. Its successor starts knowing when it ended (activities/phases/lane.ts).
 */
export const IDLE_MS = 60 * 60_000;

/** A terminated or crashed holder blocks the others for at most about this long. */
export const LEASE_CHECK_MS = 60_000;

/**
 * Workflow clocks of two executions are the server's, not one clock: a release this close before
 * a plan started still counts as after it. Erring this way only costs a HEAD per tag.
 */
const CLOCK_MARGIN_MS = 60_000;

/**
 * The lane's workflow id: one lane per registry host (whatever the case of its name) and task
 * queue. The lane runs on the queue of the run that started it, so it must be one that workers of
 * every run it serves poll: the promoter's queue, which all workers of a deployment share.
 */
export function laneWorkflowId(taskQueue: string, host: string): string {
  return `promoter-lane-${taskQueue}-${host.toLowerCase()}`;
}

/** The lanes a run takes, in the one order every run takes them in (so no two runs deadlock). */
export function laneHosts(hosts: readonly string[]): string[] {
  return [...new Set(hosts.map((h) => h.toLowerCase()))].sort();
}

/** Whether a holder released the lane after the requester's plan was made. */
export function releasedSincePlan(lastReleasedAt: number | undefined, plannedAt: number): boolean {
  return lastReleasedAt !== undefined && lastReleasedAt >= plannedAt - CLOCK_MARGIN_MS;
}

export const sameRun = (a: { workflowId: string; runId: string } | undefined, b: { workflowId: string; runId: string }): boolean =>
  !!a && a.workflowId === b.workflowId && a.runId === b.runId;
