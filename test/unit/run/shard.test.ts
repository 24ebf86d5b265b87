// Sign and Attest run in parts cut by repository: every key lands in exactly one part, the same
// one in every process, and the parts' summaries add up to the phase's.
import { describe, expect, it } from 'vitest';
import { inShard, shardedName, shardOf } from '../../../lib/run/shard';
import { addUp } from '../../../workflows/shards';
import { readCorpus } from '../../../scripts/bench/shape/corpus';

describe('shardOf', () => {
  it('puts every image of the Kubernetes corpus in exactly one part, and spreads them', () => {
    const names = [...new Set(readCorpus().flatMap((p) => p.images.map((i) => i.name)))];
    expect(names.length).toBeGreaterThan(150);
    const of = 4;
    const sizes = [0, 0, 0, 0];
    for (const name of names) {
      const owners = [0, 1, 2, 3].filter((index) => inShard(name, { index, of }));
      expect(owners, name).toEqual([shardOf(name, of)]);
      sizes[owners[0]!]!++;
    }
    // No part is empty or holds more than half (an even split would be a quarter each).
    for (const n of sizes) expect(n).toBeGreaterThan(names.length / 8);
    for (const n of sizes) expect(n).toBeLessThan(names.length / 2);
  });

  it('is a fixed function of the name (FNV-1a): workers and releases agree on it', () => {
    expect(shardOf('', 1000)).toBe(0x811c9dc5 % 1000);
    expect(shardOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    expect(inShard('anything', undefined)).toBe(true);
    expect(inShard('anything', { index: 0, of: 1 })).toBe(true);
  });

  it('names the parts’ result documents', () => {
    expect(shardedName('sign', undefined)).toBe('sign');
    expect(shardedName('sign', { index: 1, of: 4 })).toBe('sign-2-of-4');
  });
});

describe('addUp', () => {
  it('adds the numbers of the parts and lists every result key', () => {
    const total = addUp([
      { resultKey: 'a', failureCount: 1, signed: 2, alreadySigned: 0, mirrored: 5, manifestsSigned: 3 },
      { resultKey: 'b', failureCount: 0, signed: 1, alreadySigned: 4, mirrored: 0, manifestsSigned: 1 },
    ]);
    expect(total).toEqual({ resultKey: 'a', resultKeys: ['a', 'b'], failureCount: 1, signed: 3, alreadySigned: 4, mirrored: 5, manifestsSigned: 4 });
  });
});
