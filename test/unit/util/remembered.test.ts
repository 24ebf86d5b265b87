// remembered(): one read per key while the LRU keeps it, shared by callers that come while it runs;
// a failed read is forgotten, so the next caller reads again.
import { LRUCache } from 'lru-cache';
import { describe, expect, it } from 'vitest';
import { remembered } from '../../../lib/util/remembered';

describe('remembered', () => {
  it('reads a key once for callers during and after the read, and again once it is evicted', async () => {
    const cache = new LRUCache<string, Promise<{ n: number }>>({ max: 1 });
    let reads = 0;
    const read = async () => ({ n: ++reads });
    const [a, b] = await Promise.all([remembered(cache, 'k', read), remembered(cache, 'k', read)]);
    expect([a.n, b.n, (await remembered(cache, 'k', read)).n]).toEqual([1, 1, 1]);
    await remembered(cache, 'other', read);
    expect((await remembered(cache, 'k', read)).n).toBe(3);
  });

  it('forgets a failed read: the next caller asks again', async () => {
    const cache = new LRUCache<string, Promise<{ ok: boolean }>>({ max: 10 });
    await expect(remembered(cache, 'k', () => Promise.reject(new Error('registry down')))).rejects.toThrow('registry down');
    expect(await remembered(cache, 'k', async () => ({ ok: true }))).toEqual({ ok: true });
  });
});
