/**
 * LaneWorkflow: one per destination registry host (lib/run/lanes.ts), granting the host to one
 * promotion at a time, in the order they asked (the mutex idiom of Temporal's TypeScript samples).
 * A holder releases it after Promote, also when it fails or is cancelled; a holder that can no
 * longer release (terminated, timed out) loses it at the next lease check, which runs only while
 * others wait: a signal to a closed run fails. Lives for as long as the host is promoted to,
 * continuing as new between grants when its history grows, and ends once idle for an hour.
 */
import { condition, continueAsNew, getExternalWorkflowHandle, setHandler, setWorkflowOptions, workflowInfo, type SignalDefinition } from '@temporalio/workflow';
import { IDLE_MS, LEASE_CHECK_MS, releasedSincePlan, sameRun, type LaneInput, type LaneRequest } from '../lib/run/lanes';
import { laneGrantedSignal, laneHolderSignal, laneLeaseCheckSignal, laneReleaseSignal, laneRequestSignal, laneStateQuery } from './lane-signals';
import { onVersionedWorkers } from './versioning';

/** Continue as new between grants past this many events (a grant costs about a dozen). */
const MAX_HISTORY = 2_000;

export async function laneWorkflow(input: LaneInput): Promise<void> {
  const { host } = input;
  const leaseCheckMs = input.leaseCheckMs ?? LEASE_CHECK_MS;
  const idleMs = input.idleMs ?? IDLE_MS;
  const queue: LaneRequest[] = [...(input.queue ?? [])];
  let lastReleasedAt = input.lastReleasedAt;
  let holder: LaneRequest | undefined;
  let released = false;

  setHandler(laneRequestSignal, (req) => {
    // An activity retried after its signal landed asks twice: one place in the queue.
    if (sameRun(holder, req) || queue.some((q) => sameRun(q, req))) return;
    queue.push(req);
    if (holder) void tell(req, laneHolderSignal, { host, heldBy: holder.workflowId });
  });
  setHandler(laneReleaseSignal, (who) => {
    if (sameRun(holder, who)) released = true;
    else removeFrom(queue, who); // gave up waiting (cancelled, failed before its turn)
  });
  setHandler(laneStateQuery, () => ({ host, holder: holder?.workflowId, waiting: queue.map((q) => q.workflowId), lastReleasedAt }));

  /** Until the holder releases; while others wait, checking every leaseCheckMs that it still runs. */
  async function holdUntilReleased(run: LaneRequest): Promise<void> {
    for (;;) {
      // Nobody waits: no timer (a long Promote would fill the history with them).
      await condition(() => released || queue.length > 0);
      if (released || (await condition(() => released, leaseCheckMs))) return;
      if (queue.length > 0 && !(await tell(run, laneLeaseCheckSignal, { host }))) return; // the holder is gone: its lease ends
    }
  }

  while (workflowInfo().historyLength < MAX_HISTORY && !workflowInfo().continueAsNewSuggested) {
    // Idle for long: end. A request that lands meanwhile is seen first (a workflow cannot complete
    // over a signal it has not handled), so none is lost.
    if (!(await condition(() => queue.length > 0, idleMs))) return;
    const next = queue.shift()!;
    holder = next;
    released = false;
    // A run that is gone before its turn gets nothing: the next one goes.
    if (await tell(next, laneGrantedSignal, { host, contended: releasedSincePlan(lastReleasedAt, next.plannedAt) })) {
      for (const w of queue) void tell(w, laneHolderSignal, { host, heldBy: next.workflowId });
      await holdUntilReleased(next);
      lastReleasedAt = Date.now();
    }
    holder = undefined;
  }
  await continueAsNew<typeof laneWorkflow>({ host, leaseCheckMs, idleMs, queue, ...(lastReleasedAt !== undefined ? { lastReleasedAt } : {}) });
}

/** Signals one run of a promotion; false when that run no longer runs. */
async function tell<A extends unknown[]>(run: LaneRequest, signal: SignalDefinition<A>, ...args: A): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(run.workflowId, run.runId).signal(signal, ...args);
    return true;
  } catch {
    return false;
  }
}

function removeFrom(queue: LaneRequest[], who: { workflowId: string; runId: string }): void {
  const i = queue.findIndex((q) => sameRun(q, who));
  if (i >= 0) queue.splice(i, 1);
}

// A lane outlives any one version of the code: it moves to the current version between tasks.
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), laneWorkflow);
