import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Short phases (Setup, the report): a failure that retrying cannot fix is raised non-retryable by
 * the activity. They heartbeat too (activities/shared/heartbeat.ts keepBeating), so a dead worker is noticed
 * within the heartbeat timeout, not after the start-to-close.
 */
export const QUICK: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
};

/**
 * Long phases heartbeat every few seconds (activities/shared/heartbeat.ts, Heartbeat.during): a worker crash is
 * noticed within the heartbeat timeout and the activity resumes on another worker from its checkpoint.
 */
export const LONG: ActivityOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20 },
};
