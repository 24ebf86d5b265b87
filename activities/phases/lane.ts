/**
 * Asking for a promotion lane (lib/run/lanes.ts): signal-with-start of the host's LaneWorkflow, so
 * the first run to promote to a host starts its lane and every later one joins its queue. A
 * workflow cannot signal-with-start itself, hence this activity (as in Temporal's mutex sample);
 * the grant comes back to the run as a signal.
 */
import { Context } from '@temporalio/activity';
import { laneWorkflowId, type LaneRequest } from '../../lib/run/lanes';
import type { laneWorkflow } from '../../workflows/lane';
import { laneRequestSignal } from '../../workflows/lane-signals';
import type { Heartbeat } from '../shared/heartbeat';

export function createRequestLane() {
  return async function requestLane(_hb: Heartbeat, host: string, request: LaneRequest): Promise<void> {
    const ctx = Context.current();
    await ctx.client.workflow.signalWithStart<typeof laneWorkflow, [LaneRequest]>('laneWorkflow', {
      workflowId: laneWorkflowId(ctx.info.taskQueue, host),
      taskQueue: ctx.info.taskQueue,
      args: [{ host }],
      signal: laneRequestSignal,
      signalArgs: [request],
    });
  };
}
