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
