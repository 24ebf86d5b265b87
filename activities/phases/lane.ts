/**
 * Asking for a promotion lane (lib/run/lanes.ts): signal-with-start of the host's LaneWorkflow, so
 * the first run to promote to a host starts its lane and every later one joins its queue. A
 * workflow cannot signal-with-start itself, hence this activity (as in Temporal's mutex sample);
 * the grant comes back to the run as a signal. A lane that ended (idle) is started again knowing
 * when: its end stands for its last release, so a run planned before it still looks before it
 * writes (LaneGrant.contended).
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { laneWorkflowId, type LaneRequest } from '../../lib/run/lanes';
import type { laneWorkflow } from '../../workflows/lane';
import { laneRequestSignal } from '../../workflows/lane-signals';
import type { Heartbeat } from '../shared/heartbeat';

export function createRequestLane() {
  return async function requestLane(_hb: Heartbeat, host: string, request: LaneRequest): Promise<void> {
    const ctx = Context.current();
    const workflowId = laneWorkflowId(ctx.info.taskQueue, host);
    const ended = await endOfEarlierLane(ctx, workflowId);
    await ctx.client.workflow.signalWithStart<typeof laneWorkflow, [LaneRequest]>('laneWorkflow', {
      workflowId,
      taskQueue: ctx.info.taskQueue,
      // Used only when no lane runs: a running one keeps its own state.
      args: [{ host, ...(ended !== undefined ? { lastReleasedAt: ended } : {}) }],
      signal: laneRequestSignal,
      signalArgs: [request],
    });
  };
}

/** When the last lane of this id closed, if one did (none ever: undefined). */
async function endOfEarlierLane(ctx: Context, workflowId: string): Promise<number | undefined> {
  try {
    const d = await ctx.client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING' ? undefined : d.closeTime?.getTime();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
