import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, RateLimiter, Semaphore, TokenBucket, type Clock } from '../../../lib/oci/ratelimit';

class FakeClock implements Clock {
  t = 1_000_000;
  now() {
    return this.t;
  }
  async sleep(ms: number) {
    this.t += ms;
  }
}

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
  });
  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
  it('ignores absent or garbage values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-3', now)).toBeUndefined();
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the steady rate', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket(10, 5, clock);
    const start = clock.now();
    for (let i = 0; i < 5; i++) await b.take();
    expect(clock.now() - start).toBe(0);
    for (let i = 0; i < 10; i++) await b.take();
    // 10 more tokens at 10/s take one second
    expect(clock.now() - start).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - start).toBeLessThan(1100);
  });
  it('refills up to the burst only', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket(100, 3, clock);
    for (let i = 0; i < 3; i++) await b.take();
    clock.t += 60_000;
    for (let i = 0; i < 3; i++) expect(b.tryTake()).toBe(0);
    expect(b.tryTake()).toBeGreaterThan(0);
  });
  it('hands out nothing during a pause, however full', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket(100, 100, clock);
    b.pauseUntil(clock.now() + 2500);
    expect(b.tryTake()).toBe(2500);
    const start = clock.now();
    await b.take();
    expect(clock.now() - start).toBe(2500);
    // after the pause it resumes gently: not a full burst of 100
    let immediate = 0;
    while (b.tryTake() === 0) immediate++;
    expect(immediate).toBeLessThanOrEqual(1);
  });
  it('a shorter pause never cuts a longer one', () => {
    const clock = new FakeClock();
    const b = new TokenBucket(1, 1, clock);
    b.pauseUntil(clock.now() + 5000);
    b.pauseUntil(clock.now() + 1000);
    expect(b.pausedUntilMs).toBe(clock.now() + 5000);
  });
});

describe('Semaphore', () => {
  it('caps concurrency and hands slots over in order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    const p3 = s.acquire().then((r) => (order.push(3), r));
    const p4 = s.acquire().then((r) => (order.push(4), r));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(s.inFlight).toBe(2);
    r1();
    const r3 = await p3;
    expect(order).toEqual([3]);
    r2();
    r2(); // double release is harmless
    const r4 = await p4;
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(s.inFlight).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential, capped ceiling', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0.999)).toBe(99);
    expect(backoffDelay(4, 100, 10_000, () => 0.5)).toBe(400);
    expect(backoffDelay(20, 100, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(0);
  });
});

describe('a budget shared between workers', () => {
  it('a half share hands out half the rate and burst of a host', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ default: { requestsPerSecond: 100, burst: 10, concurrency: 8 } }, clock);
    limiter.setShare(0.5);
    const host = limiter.forHost('registry.example');
    expect(host.bucket.ratePerSecond).toBe(50);
    expect(host.bucket.burst).toBe(5);
    expect(host.slots.limit).toBe(4);
    const start = clock.now();
    for (let i = 0; i < 5 + 50; i++) await host.bucket.take();
    expect(clock.now() - start).toBeGreaterThanOrEqual(990); // the burst of 5, then 50 at 50/s
    limiter.setShare(1);
    expect(host.bucket.ratePerSecond).toBe(100);
    expect(host.slots.limit).toBe(8);
  });

  it('a lowered concurrency limit takes effect as slots come back; a raised one at once', async () => {
    const s = new Semaphore(2);
    const a = await s.acquire();
    const b = await s.acquire();
    s.setLimit(1);
    let third = false;
    const waiting = s.acquire().then((r) => ((third = true), r));
    a(); // over the new limit: the slot is not handed on
    await Promise.resolve();
    expect(third).toBe(false);
    b(); // back at the limit: now the waiter gets it
    const c = await waiting;
    expect(third).toBe(true);
    s.setLimit(3);
    const [d, e] = await Promise.all([s.acquire(), s.acquire()]);
    expect(s.inFlight).toBe(3);
    c();
    d();
    e();
  });
});
