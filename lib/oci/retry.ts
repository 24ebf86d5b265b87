// The one retry loop of the transport, for registry and token requests alike: network errors and
// 429/5xx answers are tried again with jittered exponential backoff, or after the registry's
// Retry-After. A Retry-After pauses the whole host (no request to it leaves before then), up to a
// cap: a registry that asks for longer gets the cap and the request fails, retryably, carrying the
// delay it asked for, so one answer cannot freeze a host for every run of the worker.
import { OCI_DEFAULTS } from './defaults';
import { OciError } from './errors';
import type { Answer } from './exchange';
import { backoffDelay, parseRetryAfter, type Clock, type HostLimiter } from './ratelimit';

export interface RetryOptions {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After honoured: a host is never paused for longer, and a request asked to wait longer fails. */
  maxRetryAfterMs: number;
}

const DEFAULT_RETRY: RetryOptions = OCI_DEFAULTS.retry;

const MAX_RETRY_AFTER_ENV = 'PROMOTER_MAX_RETRY_AFTER';

/** PROMOTER_MAX_RETRY_AFTER (seconds) as milliseconds; undefined when unset. */
export function maxRetryAfterFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[MAX_RETRY_AFTER_ENV]?.trim();
  if (!v) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new Error(`${MAX_RETRY_AFTER_ENV}: "${v}" is not a number of seconds`);
  return Math.round(Number(v) * 1000);
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

export interface RetryContext {
  /** The budget of the host the request counts under: a Retry-After pauses it. */
  limiter: HostLimiter;
  /** A streamed body cannot be sent twice: one attempt only. */
  replayable: boolean;
  /** The error a final answer stands for (used when a Retry-After is past the cap). */
  describe: (answer: Answer) => OciError;
}

export class RetryPolicy {
  readonly options: RetryOptions;

  constructor(
    options: Partial<RetryOptions> | undefined,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...DEFAULT_RETRY, ...options };
  }

  /**
   * Runs `attempt` until it gives an answer that is not worth repeating, or the attempts run out
   * (the last answer is returned, for the caller to turn into an error). `attempt(n)` gets the
   * attempt's number (1 first) and throws OciErrors; retryable ones are tried again.
   */
  async run(ctx: RetryContext, attempt: (n: number) => Promise<Answer>): Promise<Answer> {
    const max = ctx.replayable ? this.options.maxAttempts : 1;
    for (let n = 1; ; n++) {
      let answer: Answer;
      try {
        answer = await attempt(n);
      } catch (e) {
        if (!(e instanceof OciError) || !e.retryable || n >= max) throw e;
        await this.backoff(n);
        continue;
      }
      if (!isRetryableStatus(answer.status)) return answer;
      const asked = answer.status === 429 || answer.status === 503 ? parseRetryAfter(answer.headers.get('retry-after'), this.clock.now()) : undefined;
      if (asked !== undefined) {
        const cap = this.options.maxRetryAfterMs;
        ctx.limiter.bucket.pauseUntil(this.clock.now() + Math.min(asked, cap));
        if (asked > cap) throw pastCap(ctx.describe(answer), asked, cap);
        if (n < max) continue; // the paused bucket makes the next attempt wait
        return answer;
      }
      if (n >= max) return answer;
      await this.backoff(n);
    }
  }

  private backoff(attempt: number): Promise<void> {
    return this.clock.sleep(backoffDelay(attempt, this.options.baseDelayMs, this.options.maxDelayMs, this.random));
  }
}

function pastCap(err: OciError, askedMs: number, capMs: number): OciError {
  return new OciError({
    code: err.code,
    ...(err.status !== undefined ? { status: err.status } : {}),
    retryable: true,
    ...(err.registry !== undefined ? { registry: err.registry } : {}),
    ...(err.repository !== undefined ? { repository: err.repository } : {}),
    retryAfterMs: askedMs,
    message:
      `${err.message} (asked to wait ${Math.ceil(askedMs / 1000)} s, more than the ${Math.ceil(capMs / 1000)} s honoured: ` +
      `${MAX_RETRY_AFTER_ENV}; the host is paused that long)`,
  });
}
