// The one retry loop: backoff, Retry-After up to the cap, and what happens past it.
import { describe, expect, it } from 'vitest';
import { OciError } from '../../../lib/oci/errors';
import type { Answer } from '../../../lib/oci/exchange';
import { HostLimiter, type Clock } from '../../../lib/oci/ratelimit';
import { maxRetryAfterFromEnv, RetryPolicy } from '../../../lib/oci/retry';

class FakeClock implements Clock {
  t = 1_000_000;
  slept: number[] = [];
  now() {
    return this.t;
  }
  async sleep(ms: number) {
    this.slept.push(ms);
    this.t += ms;
  }
}

const answer = (status: number, headers: Record<string, string> = {}): Answer => ({
  status,
  url: 'https://reg.example/v2/',
  headers: new Headers(headers),
  body: new Uint8Array(0),
});
const describeAs = (a: Answer) =>
  new OciError({
    code: a.status === 429 ? 'TOOMANYREQUESTS' : 'SERVER_ERROR',
    status: a.status,
    registry: 'reg.example',
    message: `ping on reg.example failed with HTTP ${a.status}`,
  });

function setup(opts = {}) {
  const clock = new FakeClock();
  const limiter = new HostLimiter({ requestsPerSecond: 1000, burst: 1000, concurrency: 4 }, clock);
  const policy = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 600_000, ...opts }, clock, () => 1);
  const calls: number[] = [];
  const run = (answers: Array<Answer | OciError>, replayable = true) =>
    policy.run({ limiter, replayable, describe: describeAs }, async (n) => {
      await limiter.bucket.take(); // what the exchange layer does before each attempt
      calls.push(clock.now());
      const a = answers[n - 1]!;
      if (a instanceof OciError) throw a;
      return a;
    });
  return { clock, limiter, run, calls };
}

describe('RetryPolicy', () => {
  it('backs off with jitter on 5xx and retryable errors, and hands the last answer back', async () => {
    const { clock, run } = setup({ maxAttempts: 3 });
    const net = new OciError({ code: 'NETWORK', retryable: true, message: 'reset' });
    expect((await run([net, answer(502), answer(200)])).status).toBe(200);
    expect(clock.slept).toEqual([100, 200]);
    expect((await run([answer(500), answer(500), answer(503)])).status).toBe(503);
  });

  it('does not repeat what cannot help: a 4xx, a non-retryable error, a streamed body', async () => {
    const { run, calls } = setup();
    expect((await run([answer(404)])).status).toBe(404);
    await expect(run([new OciError({ code: 'TLS', retryable: false, message: 'bad cert' })])).rejects.toMatchObject({ code: 'TLS' });
    expect((await run([answer(503), answer(200)], false)).status).toBe(503);
    expect(calls).toHaveLength(3);
  });

  it('pauses the whole host for a Retry-After within the cap, then tries again', async () => {
    const { clock, limiter, run, calls } = setup();
    const t0 = clock.now();
    expect((await run([answer(429, { 'retry-after': '120' }), answer(200)])).status).toBe(200);
    expect(calls[1]! - t0).toBe(120_000);
    expect(limiter.bucket.pausedUntilMs).toBe(t0 + 120_000);
  });

  it('past the cap: the host is paused for the cap only, the request fails at once, retryably, with the delay asked', async () => {
    const { clock, limiter, run, calls } = setup();
    const t0 = clock.now();
    const err = await run([answer(429, { 'retry-after': '86400' }), answer(200)]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOOMANYREQUESTS', retryable: true, retryAfterMs: 86_400_000, status: 429 });
    expect((err as Error).message).toBe(
      'ping on reg.example failed with HTTP 429 (asked to wait 86400 s, more than the 600 s honoured: PROMOTER_MAX_RETRY_AFTER; the host is paused that long)',
    );
    expect(calls).toHaveLength(1);
    expect(clock.now()).toBe(t0);
    expect(limiter.bucket.pausedUntilMs).toBe(t0 + 600_000);
    // An HTTP date a month away is the same (this request first waited out the pause above).
    const far = new Date(clock.now() + 30 * 86_400_000).toUTCString();
    await expect(run([answer(503, { 'retry-after': far })])).rejects.toMatchObject({ code: 'SERVER_ERROR', retryable: true });
    expect(clock.now()).toBe(t0 + 600_000);
    expect(limiter.bucket.pausedUntilMs).toBe(clock.now() + 600_000);
  });

  it('reads the cap from PROMOTER_MAX_RETRY_AFTER in seconds', () => {
    expect(maxRetryAfterFromEnv({})).toBeUndefined();
    expect(maxRetryAfterFromEnv({ PROMOTER_MAX_RETRY_AFTER: '30' })).toBe(30_000);
    expect(maxRetryAfterFromEnv({ PROMOTER_MAX_RETRY_AFTER: '0.5' })).toBe(500);
    expect(() => maxRetryAfterFromEnv({ PROMOTER_MAX_RETRY_AFTER: 'ten' })).toThrow(/not a number of seconds/);
  });
});
