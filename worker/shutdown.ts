/**
 * Graceful shutdown. On SIGTERM (or SIGINT) the worker stops polling and gives the activities in
 * flight PROMOTER_SHUTDOWN_GRACE_TIME to finish; then the SDK cancels them with the reason
 * WORKER_SHUTDOWN. Our long activities do not stop at a cancellation by themselves (a Promote
 * batch would run on to its end), and a worker that simply went away leaves its activity to the
 * 20 s heartbeat timeout. So an activity cancelled because its worker is leaving hands over: the
 * attempt fails at once, retryable after a second, and another worker resumes it from the last
 * checkpoint it beat right away. Copies cut off half-way are re-checked at the destination by
 * the next attempt, as after a crash.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptors, Next } from '@temporalio/worker';

/** The SDK's reason for cancelling activities of a worker that shuts down. */
const WORKER_SHUTDOWN = 'WORKER_SHUTDOWN';

/**
 * How soon the server retries a handed-over activity (instead of the retry policy's back-off). Not
 * annotated as the SDK's Duration: that type comes from `ms`, whose exports carry no types, so it is any.
 */
const HANDOVER_RETRY_DELAY = '1s';

const HANDOVER = Symbol('handover');

class HandOverOnShutdown implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    // Any other cancellation (the run cancelled, a heartbeat timeout) keeps its usual course.
    const leaving = this.ctx.cancelled.catch((err: unknown) =>
      err instanceof CancelledFailure && err.message === WORKER_SHUTDOWN ? HANDOVER : new Promise<never>(() => {}),
    );
    const outcome = await Promise.race([next(input), leaving]);
    if (outcome !== HANDOVER) return outcome;
    // The last checkpoint the activity beat goes to the server as the attempt ends (the SDK holds
    // back beats only while the attempt runs), so the next attempt starts from it.
    throw ApplicationFailure.create({
      type: 'WorkerShutdown',
      message: `${this.ctx.info.activityType} (attempt ${this.ctx.info.attempt}) handed over from its checkpoint: the worker is shutting down`,
      nextRetryDelay: HANDOVER_RETRY_DELAY,
    });
  }
}

export const handOverOnShutdown = (ctx: Context): ActivityInterceptors => ({ inbound: new HandOverOnShutdown(ctx) });

/** Past the grace time, how long the worker waits for the hand-overs before it stops regardless. */
export const SHUTDOWN_FORCE_MARGIN_MS = 10_000;
