// One promotion copy: the image by digest, then the referrers the source holds (which of them go
// along is the caller's choice: the promoter leaves the source's signatures behind), then the
// tags. In that order a fallback index only lists manifests the registry holds, and a tag shows
// the image with everything it carries; a tag that points elsewhere is never moved.
import { copyImage } from './copy';
import { copyReferrers, type CopyReferrersOptions } from './copy-referrers';
import type { RegistryClient } from './client';
import type { Descriptor } from './media-types';
import type { DigestRef, RepositoryRef } from './reference';
import type { Referrers } from './referrers';

export interface TagOutcome {
  tag: string;
  result: 'written' | 'present' | 'tag-move';
  /** For a tag move: the digest the tag points at (left there). */
  currentDigest?: string;
}

export interface CopyTransfer {
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  bytesUploaded: number;
  manifestsWritten: number;
  /** Referrer manifests copied (or found) at the destination. */
  referrersCopied: number;
}

export interface PromotionCopy {
  transfer: CopyTransfer;
  tags: TagOutcome[];
  /** The fallback tag written for the referrers (a destination without the referrers API). */
  fallbackTag?: string;
}

export interface PromotionCopyOptions extends CopyReferrersOptions {
  tags: string[];
  /** The source's referrers of `src.digest` to copy along (none: the image and its tags only). */
  referrers: Descriptor[];
}

export async function copyWithReferrers(
  client: RegistryClient,
  referrers: Referrers,
  src: DigestRef,
  dst: RepositoryRef,
  opts: PromotionCopyOptions,
): Promise<PromotionCopy> {
  const { tags, referrers: found, ...caches } = opts;
  // Without referrers the tags go in with the image (its first tag's PUT writes it).
  const image = await copyImage(client, src, dst, found.length === 0 ? { ...caches, tags } : caches);
  const refs = await copyReferrers(client, referrers, src, dst, found, caches);
  // The image is there now whatever the plan thought: the tags are looked at before they are written.
  const tagged = found.length === 0 ? image : await copyImage(client, src, dst, { ...caches, assumeAbsent: false, tags });
  return {
    transfer: {
      blobsUploaded: image.blobsUploaded + refs.blobsUploaded,
      blobsMounted: image.blobsMounted + refs.blobsMounted,
      blobsSkipped: image.blobsSkipped,
      bytesUploaded: image.bytesUploaded + refs.bytesUploaded,
      manifestsWritten: image.manifestsWritten + refs.manifestsWritten,
      referrersCopied: refs.copied,
    },
    tags: [
      ...tagged.tagsWritten.map((tag) => ({ tag, result: 'written' as const })),
      ...tagged.tagsPresent.map((tag) => ({ tag, result: 'present' as const })),
      ...tagged.tagMoves.map((m) => ({ tag: m.tag, result: 'tag-move' as const, currentDigest: m.currentDigest })),
    ],
    ...(refs.fallbackTag ? { fallbackTag: refs.fallbackTag } : {}),
  };
}
