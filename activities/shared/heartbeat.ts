/**
 * Heartbeats. Every activity heartbeats every few seconds from start to end (keepBeating), so a
 * worker that dies anywhere (Setup, the report, a big Plan) is noticed within the heartbeat
 * timeout instead of at the end of a start-to-close timeout; long phases send a checkpoint with
 * each beat, which a retry on another worker resumes from.
 */
import { Context } from '@temporalio/activity';

/**
 * One activity invocation's heartbeat, made by keepBeating for that invocation alone: it holds
 * the last checkpoint sent, so a keep-alive beat re-sends it instead of wiping it.
 */
export class Heartbeat {
  private last: unknown;

  constructor(private readonly ctx: Context) {}

  /** The checkpoint the attempt before this one last sent (undefined on a first attempt). */
  resumed<T>(): T | undefined {
    return this.ctx.info.heartbeatDetails as T | undefined;
  }

  /** Heartbeat with a new checkpoint, or (no argument) re-send the last one. */
  beat(details?: unknown): void {
    if (details !== undefined) this.last = details;
    this.ctx.heartbeat(this.last);
  }

  /**
   * Runs `body` while heartbeating every few seconds with the current checkpoint, so that one slow
   * step (a multi-gigabyte layer) never looks like a dead worker, while a dead worker is still
   * noticed within the heartbeat timeout and its activity resumed elsewhere from the checkpoint.
   */
  async during<T>(checkpoint: () => unknown, body: () => Promise<T>, everyMs = 5_000): Promise<T> {
    const timer = setInterval(() => this.beat(checkpoint()), everyMs);
    try {
      return await body();
    } finally {
      clearInterval(timer);
    }
  }
}

/**
 * An activity that heartbeats every few seconds for as long as it runs, however quick or long it
 * is. `fn` gets this invocation's Heartbeat first, then the activity's own arguments.
 */
export function keepBeating<A extends unknown[], R>(fn: (hb: Heartbeat, ...args: A) => Promise<R>, everyMs = 5_000): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    const hb = new Heartbeat(Context.current());
    const timer = setInterval(() => hb.beat(), everyMs);
    try {
      return await fn(hb, ...args);
    } finally {
      clearInterval(timer);
    }
  };
}
