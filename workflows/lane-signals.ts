/**
 * What a lane and the runs that use it say to each other (workflows/lane.ts, workflows/lanes.ts):
 * typed signals both ways, and the lane's query. The activity that starts a lane sends the first.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { LaneGrant, LaneHolder, LaneRequest, LaneState } from '../lib/run/lanes';

type RunRef = { workflowId: string; runId: string };

/** To the lane: queue this run (a repeated request of a run already queued or holding is ignored). */
export const laneRequestSignal = defineSignal<[LaneRequest]>('laneRequest');
/** To the lane: this run is done with it (or no longer waits for it). */
export const laneReleaseSignal = defineSignal<[RunRef]>('laneRelease');
/** To the run: it holds the lane now. */
export const laneGrantedSignal = defineSignal<[LaneGrant]>('laneGranted');
/** To a waiting run: who holds the lane it waits for. */
export const laneHolderSignal = defineSignal<[LaneHolder]>('laneHolder');
/** To the holder: the lane checks that it still runs (a signal to a closed run fails). */
export const laneLeaseCheckSignal = defineSignal<[{ host: string }]>('laneLeaseCheck');

export const laneStateQuery = defineQuery<LaneState>('laneState');
