// The worker's content caches are bounded by bytes, least recently used first.
import { describe, expect, it } from 'vitest';
import { BlobBytes } from '../../../lib/oci/blob-bytes';
import { ManifestCache } from '../../../lib/oci/manifest-cache';

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

describe('ManifestCache', () => {
  it('holds manifests up to its byte bound, dropping the least recently used', () => {
    const cache = new ManifestCache(100_000);
    const m = (i: number) => ({ digest: digest(i), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: new Uint8Array(10_000) });
    cache.set('h', 'r', m(0));
    for (let i = 1; i < 50; i++) {
      cache.set('h', 'r', m(i));
      expect(cache.get('h', 'r', digest(0))).toBeDefined();
    }
    expect(cache.size).toBeLessThanOrEqual(10);
    expect(cache.get('h', 'r', digest(1))).toBeUndefined();
    expect(cache.get('h', 'r', digest(49))?.digest).toBe(digest(49));
    expect(cache.get('other', 'r', digest(49))).toBeUndefined();
  });
});

describe('BlobBytes', () => {
  it('holds small blobs only, up to its total', () => {
    const held = new BlobBytes(1000, 5000);
    held.set(digest(0), new Uint8Array(1001));
    expect(held.get(digest(0))).toBeUndefined();
    for (let i = 1; i <= 10; i++) held.set(digest(i), new Uint8Array(1000));
    expect([1, 2, 3, 4, 5].map((i) => held.get(digest(i)))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(held.get(digest(10))).toHaveLength(1000);
  });
});

describe('reads shared by concurrent callers', () => {
  const deferred = <T>() => {
    let resolve!: (v: T) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };

  it('three copies of one blob starting together read the source once, and later ones not at all', async () => {
    const held = new BlobBytes(1000, 5000);
    const source = deferred<Uint8Array>();
    let reads = 0;
    const read = () => (reads++, source.promise);
    const together = [held.getOrRead(digest(1), read), held.getOrRead(digest(1), read), held.getOrRead(digest(1), read)];
    source.resolve(new Uint8Array([1, 2, 3]));
    expect(await Promise.all(together)).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])]);
    expect(await held.getOrRead(digest(1), read)).toEqual(new Uint8Array([1, 2, 3]));
    expect(reads).toBe(1);
  });

  it('a failed read is shared by those waiting on it, and the next caller reads again', async () => {
    const cache = new ManifestCache();
    const first = deferred<{ digest: string; mediaType: string; bytes: Uint8Array }>();
    let reads = 0;
    const failing = () => (reads++, first.promise);
    const waiting = [cache.getOrRead('h', 'r', digest(2), failing), cache.getOrRead('h', 'r', digest(2), failing)];
    first.reject(new Error('503'));
    for (const w of waiting) await expect(w).rejects.toThrow('503');
    const m = { digest: digest(2), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: new Uint8Array(3) };
    expect(await cache.getOrRead('h', 'r', digest(2), () => (reads++, Promise.resolve(m)))).toBe(m);
    expect(reads).toBe(2);
    // Another repository's copy of the digest is its own read: the source repository matters.
    expect(cache.get('h', 'other', digest(2))).toBeUndefined();
  });
});
