import { describe, expect, it } from 'vitest';
import { IDLE_SHARE, MIN_SHARE, live, release, renew, type LeaseTable } from '../../../lib/budget/leases';

const TTL = 6_000;

/** Renews in turn, `rounds` times, as workers renewing every few seconds would; returns the last grants. */
function settle(workers: { id: string; busy: boolean }[], rounds = 4, table: LeaseTable = [], t0 = 0) {
  const grants = new Map<string, number>();
  let now = t0;
  for (let r = 0; r < rounds; r++) {
    for (const w of workers) {
      const res = renew(table, { worker: w.id, busy: w.busy, ttlMs: TTL }, (now += 100));
      table = res.table;
      grants.set(w.id, res.grant.share);
      // Never over budget together, at any point.
      expect(live(table, now).reduce((s, l) => s + l.share, 0)).toBeLessThanOrEqual(1 + MIN_SHARE * workers.length);
    }
  }
  return { grants, table, now };
}

describe('budget leases', () => {
  it('a lone worker has the whole budget, busy or not', () => {
    expect(renew([], { worker: 'a', busy: true, ttlMs: TTL }, 0).grant.share).toBe(1);
    expect(renew([], { worker: 'a', busy: false, ttlMs: TTL }, 0).grant.share).toBe(1);
  });

  it('a joiner gets only what is free until the holder renews at its new part', () => {
    const a = renew([], { worker: 'a', busy: true, ttlMs: TTL }, 0);
    const b = renew(a.table, { worker: 'b', busy: true, ttlMs: TTL }, 100);
    expect(b.grant.share).toBe(MIN_SHARE);
    const a2 = renew(b.table, { worker: 'a', busy: true, ttlMs: TTL }, 200);
    expect(a2.grant.share).toBe(0.5);
    expect(renew(a2.table, { worker: 'b', busy: true, ttlMs: TTL }, 300).grant.share).toBe(0.5);
  });

  it('busy workers share evenly; idle ones keep the floor', () => {
    const { grants } = settle([
      { id: 'a', busy: true },
      { id: 'b', busy: true },
      { id: 'c', busy: false },
    ]);
    expect(grants.get('c')).toBe(IDLE_SHARE);
    expect(grants.get('a')).toBeCloseTo((1 - IDLE_SHARE) / 2, 9);
    expect(grants.get('b')).toBeCloseTo((1 - IDLE_SHARE) / 2, 9);
  });

  it('all idle: an even split', () => {
    const { grants } = settle([
      { id: 'a', busy: false },
      { id: 'b', busy: false },
    ]);
    expect([...grants.values()]).toEqual([0.5, 0.5]);
  });

  it('a lease that lapsed no longer counts; a released one neither', () => {
    const { table, now } = settle([
      { id: 'a', busy: true },
      { id: 'b', busy: true },
    ]);
    expect(renew(table, { worker: 'a', busy: true, ttlMs: TTL }, now + TTL + 1).grant.share).toBe(1);
    expect(renew(release(table, 'b'), { worker: 'a', busy: true, ttlMs: TTL }, now + 1).grant.share).toBe(1);
  });
});
