// The referrers a build attached to a staging image (SBOMs, provenance; the caller leaves out its
// signatures) go with the image to every destination, in the scheme the destination supports: where the registry
// serves the OCI 1.1 referrers API, writing each referrer manifest (it carries its `subject`) is
// enough; elsewhere the `sha256-<hex>` fallback index gets their entries, merged with what it
// already lists (./shared-tag.ts). Whatever scheme the source used: the list comes from Referrers.list.
import type { BlobBytes } from './blob-bytes';
import type { BlobCache } from './blob-cache';
import type { RegistryClient } from './client';
import { copyImage } from './copy';
import type { ManifestCache } from './manifest-cache';
import type { Descriptor } from './media-types';
import { digestTag, type DigestRef, type RepositoryRef } from './reference';
import type { Referrers } from './referrers';

export interface CopyReferrersOptions {
  blobCache?: BlobCache;
  manifestCache?: ManifestCache;
  blobBytes?: BlobBytes;
  /** The destination repository held nothing when planned (see CopyOptions.assumeAbsent). */
  assumeAbsent?: boolean;
}

export interface CopyReferrersResult {
  /** Referrer manifests written (or found) at the destination. */
  copied: number;
  /** The fallback tag written at the destination, when it has no referrers API. */
  fallbackTag?: string;
  manifestsWritten: number;
  blobsUploaded: number;
  blobsMounted: number;
  bytesUploaded: number;
}

/** Copies `found` (the source's referrers of `src`) to `dst`; a no-op for none. */
export async function copyReferrers(
  client: RegistryClient,
  referrers: Referrers,
  src: DigestRef,
  dst: RepositoryRef,
  found: Descriptor[],
  opts: CopyReferrersOptions = {},
): Promise<CopyReferrersResult> {
  const out: CopyReferrersResult = { copied: 0, manifestsWritten: 0, blobsUploaded: 0, blobsMounted: 0, bytesUploaded: 0 };
  if (found.length === 0) return out;
  for (const r of found) {
    const c = await copyImage(client, { host: src.host, repository: src.repository, digest: r.digest }, dst, opts);
    out.copied++;
    out.manifestsWritten += c.manifestsWritten;
    out.blobsUploaded += c.blobsUploaded;
    out.blobsMounted += c.blobsMounted;
    out.bytesUploaded += c.bytesUploaded;
  }
  if (await referrers.hasApi(dst)) return out;
  // Entries as the source listed them (artifactType and annotations included), merged into the
  // index the destination holds when written (others' entries kept); nothing is written when it lists them all.
  if ((await referrers.addToFallbackIndex(dst, src.digest, found)) === 'written') out.manifestsWritten++;
  out.fallbackTag = digestTag(src.digest);
  return out;
}
