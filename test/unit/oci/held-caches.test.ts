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
