// What the worker remembers about where blobs are: a few mount sources per blob, and for the
// blob every signature carries (the OCI empty config) every repository that has it, so that the
// thousandth signature on a host does not mount it again.
import { describe, expect, it } from 'vitest';
import { BlobCache } from '../../../lib/oci/blob-cache';
import { OCI_EMPTY_DIGEST } from '../../../lib/oci/media-types';

const layer = `sha256:${'1'.repeat(64)}`;

describe('BlobCache', () => {
  it('keeps the last few repositories of a layer as mount sources, most recent first', () => {
    const cache = new BlobCache(3);
    for (const r of ['a', 'b', 'c', 'd']) cache.add('h', r, layer);
    expect(cache.reposWith('h', layer)).toEqual(['d', 'c', 'b']);
    expect(cache.has('h', 'a', layer)).toBe(false); // forgotten: at worst a HEAD or a mount later
    expect(cache.has('h', 'd', layer)).toBe(true);
    expect(cache.has('other-host', 'd', layer)).toBe(false);
  });

  it('remembers every repository holding the empty config, past the bound', () => {
    const cache = new BlobCache(3);
    const repos = Array.from({ length: 500 }, (_, i) => `repo-${i}`);
    for (const r of repos) cache.add('h', r, OCI_EMPTY_DIGEST);
    for (const r of repos) expect(cache.has('h', r, OCI_EMPTY_DIGEST), r).toBe(true);
    expect(cache.reposWith('h', OCI_EMPTY_DIGEST)).toEqual(['repo-499', 'repo-498', 'repo-497']);
    cache.forget('h', 'repo-7', OCI_EMPTY_DIGEST); // a mount from it was declined
    expect(cache.has('h', 'repo-7', OCI_EMPTY_DIGEST)).toBe(false);
  });
});

describe('BlobCache memory bound', () => {
  it('forgets the least recently used blobs past its size, keeping the ones in use', () => {
    const cache = new BlobCache(16, new Set([OCI_EMPTY_DIGEST]), 64 * 1024);
    const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
    cache.add('h', 'hot', digest(0));
    for (let i = 1; i <= 5000; i++) {
      cache.add('h', `repo-${i}`, digest(i));
      if (i % 100 === 0) expect(cache.has('h', 'hot', digest(0))).toBe(true); // used, so kept
    }
    expect(cache.size).toBeLessThan(300);
    expect(cache.has('h', 'repo-1', digest(1))).toBe(false);
    expect(cache.has('h', 'repo-5000', digest(5000))).toBe(true);
  });

  it('counts the repositories an everywhere-blob collects against the bound', () => {
    const cache = new BlobCache(3, new Set([OCI_EMPTY_DIGEST]), 64 * 1024);
    for (let i = 0; i < 10_000; i++) cache.add('h', `repository-number-${i}`, OCI_EMPTY_DIGEST);
    // One entry holding 10,000 names is over 64 KiB: it is dropped rather than kept unbounded.
    expect(cache.has('h', 'repository-number-9999', OCI_EMPTY_DIGEST) && cache.has('h', 'repository-number-0', OCI_EMPTY_DIGEST)).toBe(false);
  });
});
