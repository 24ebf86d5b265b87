// Long waits stay waits: a delay past setTimeout's 32-bit range must not fire after 1 ms.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, sleep, timerDelay } from '../../../lib/oci/timers';
import { TokenBucket, realClock } from '../../../lib/oci/ratelimit';

afterEach(() => {
  vi.useRealTimers();
});

describe('sleep', () => {
  it('clamps what it hands to setTimeout', () => {
    expect(timerDelay(-5)).toBe(0);
    expect(timerDelay(Number.NaN)).toBe(0);
    expect(timerDelay(Infinity)).toBe(MAX_TIMER_MS);
    expect(timerDelay(40 * 86_400_000)).toBe(MAX_TIMER_MS);
  });

  it('sleeps 40 days in pieces, without one early wake-up', async () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    let woke = false;
    void sleep(40 * 86_400_000).then(() => (woke = true));
    await vi.advanceTimersByTimeAsync(24 * 86_400_000);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(16 * 86_400_000 - 1);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(woke).toBe(true);
    expect(spy.mock.calls.every(([, ms]) => (ms ?? 0) <= MAX_TIMER_MS)).toBe(true);
    expect(spy.mock.calls).toHaveLength(2);
  });

  it('a host paused for 30 days is waited out with a handful of timers, not a busy loop', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const bucket = new TokenBucket(10, 10, realClock);
    bucket.pauseUntil(Date.now() + 30 * 86_400_000);
    const spy = vi.spyOn(globalThis, 'setTimeout');
    let got = false;
    void bucket.take().then(() => (got = true));
    await vi.advanceTimersByTimeAsync(29 * 86_400_000);
    expect(got).toBe(false);
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(got).toBe(true);
    expect(spy.mock.calls.length).toBeLessThan(5);
  });
});
