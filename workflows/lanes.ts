/**
 * A promotion's side of the lanes (lib/run/lanes.ts, ./lane.ts): before Promote a confirmed run
 * takes the lane of every host it writes to, one after another in sorted order (two runs never
 * wait for each other's lanes), and gives them all back after Promote, whatever happened in it.
 * While it waits, the progress query, `promoter status` and the Temporal UI's current details say
 * for which lane and behind which run.
 */
import { CancellationScope, condition, getExternalWorkflowHandle, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { describeWait, laneHosts, laneWorkflowId, type LaneGrant, type LaneRequest, type LaneWait } from '../lib/run/lanes';
import { laneGrantedSignal, laneHolderSignal, laneLeaseCheckSignal, laneReleaseSignal } from './lane-signals';

/** Asks the host's lane to queue this run (the requestLane activity). */
export type AskForLane = (host: string, request: LaneRequest) => Promise<void>;

export class Lanes {
  /** The lane this run waits for now, if any (the progress query shows it). */
  waiting?: LaneWait;
  private readonly grants = new Map<string, LaneGrant>();
  private readonly holders = new Map<string, string>();

  constructor(private readonly ask: AskForLane) {
    setHandler(laneGrantedSignal, (g) => {
      this.grants.set(g.host, g);
    });
    setHandler(laneHolderSignal, (h) => {
      this.holders.set(h.host, h.heldBy);
      if (this.waiting?.host === h.host) this.waitFor(h.host);
    });
    // Only its delivery matters: it fails once this run is closed, and the lane lets go.
    setHandler(laneLeaseCheckSignal, () => undefined);
  }

  /**
   * Runs `body` holding the lanes of `hosts`. `plannedAt`: when this run's Plan started. `body` is
   * told whether another run held one of the lanes since then (its plan may be out of date).
   */
  async holding<T>(hosts: readonly string[], plannedAt: number, body: (contended: boolean) => Promise<T>): Promise<T> {
    const { workflowId, runId, taskQueue } = workflowInfo();
    const asked: string[] = [];
    try {
      for (const host of laneHosts(hosts)) {
        this.waitFor(host);
        asked.push(host);
        await this.ask(host, { workflowId, runId, plannedAt });
        await condition(() => this.grants.has(host));
      }
      this.waiting = undefined;
      if (asked.length > 0) setCurrentDetails(`holding lanes ${asked.join(', ')}`);
      return await body(asked.some((h) => this.grants.get(h)!.contended));
    } finally {
      this.waiting = undefined;
      // Also when Promote failed or the run is cancelled: the next run must not wait for a lease check.
      await CancellationScope.nonCancellable(() => Promise.all(asked.map((host) => release(laneWorkflowId(taskQueue, host), workflowId, runId))));
      if (asked.length > 0) setCurrentDetails('');
    }
  }

  private waitFor(host: string): void {
    const heldBy = this.holders.get(host);
    this.waiting = { host, since: this.waiting?.host === host ? this.waiting.since : new Date(Date.now()).toISOString(), ...(heldBy ? { heldBy } : {}) };
    setCurrentDetails(describeWait(this.waiting));
  }
}

async function release(lane: string, workflowId: string, runId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(lane).signal(laneReleaseSignal, { workflowId, runId });
  } catch {
    // No such lane (an operator ended it): nothing to give back.
  }
}
