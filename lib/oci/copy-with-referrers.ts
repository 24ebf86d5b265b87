// One promotion copy: the image by digest, then what the source attached to it (which referrers
// go along is the caller's choice: the promoter leaves the source's signatures behind), then the
// tags. Attached are its referrers and its legacy cosign `.att`, and for an index the same of each
// child (buildx and cosign attest per platform). In that order a fallback index only lists
// manifests the registry holds, and a tag shows the image with everything it carries; a tag that
// points elsewhere is never moved.
import { copyImage } from './copy';
import { copyReferrers, type CopyReferrersOptions } from './copy-referrers';
import { copyLegacyAttestation, type TaggedManifest } from './legacy-attestation';
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
  /** The legacy attestation tags written or merged (`sha256-<hex>.att`, the image's and its children's). */
  attestationTags?: string[];
}

/** What the source attached to one index child. */
interface ChildAttachments {
  digest: string;
  referrers: Descriptor[];
  legacyAttestation?: TaggedManifest;
}

export interface PromotionCopyOptions extends CopyReferrersOptions {
  tags: string[];
  /** The source's referrers of `src.digest` to copy along (none: the image and its tags only). */
  referrers: Descriptor[];
  /** The source's `sha256-<hex>.att` manifest of `src.digest`, to carry along and merge into the destination's. */
  legacyAttestation?: TaggedManifest;
  /** For an index: what the source attached to its children (those with nothing attached may be left out). */
  children?: ChildAttachments[];
}

export async function copyWithReferrers(
  client: RegistryClient,
  referrers: Referrers,
  src: DigestRef,
  dst: RepositoryRef,
  opts: PromotionCopyOptions,
): Promise<PromotionCopy> {
  const { tags, referrers: found, legacyAttestation, children = [], ...caches } = opts;
  const attached: ChildAttachments[] = [
    { digest: src.digest, referrers: found, ...(legacyAttestation ? { legacyAttestation } : {}) },
    ...children.filter((c) => c.referrers.length > 0 || c.legacyAttestation),
  ];
  const carries = attached.some((a) => a.referrers.length > 0 || a.legacyAttestation);
  // With nothing attached the tags go in with the image (its first tag's PUT writes it).
  const image = await copyImage(client, src, dst, carries ? caches : { ...caches, tags });
  const transfer: CopyTransfer = {
    blobsUploaded: image.blobsUploaded,
    blobsMounted: image.blobsMounted,
    blobsSkipped: image.blobsSkipped,
    bytesUploaded: image.bytesUploaded,
    manifestsWritten: image.manifestsWritten,
    referrersCopied: 0,
  };
  const add = (c: { manifestsWritten: number; blobsUploaded: number; blobsMounted: number; bytesUploaded: number }) => {
    transfer.manifestsWritten += c.manifestsWritten;
    transfer.blobsUploaded += c.blobsUploaded;
    transfer.blobsMounted += c.blobsMounted;
    transfer.bytesUploaded += c.bytesUploaded;
  };
  let fallbackTag: string | undefined;
  const attestationTags: string[] = [];
  for (const a of attached) {
    const subject = { ...src, digest: a.digest };
    const refs = await copyReferrers(client, referrers, subject, dst, a.referrers, caches);
    add(refs);
    transfer.referrersCopied += refs.copied;
    if (a.digest === src.digest) fallbackTag = refs.fallbackTag;
    if (!a.legacyAttestation) continue;
    const att = await copyLegacyAttestation(client, subject, dst, a.legacyAttestation, caches);
    add(att);
    attestationTags.push(att.tag);
  }
  // The image is there now whatever the plan thought: the tags are looked at before they are written.
  const tagged = carries ? await copyImage(client, src, dst, { ...caches, assumeAbsent: false, tags }) : image;
  return {
    transfer,
    tags: [
      ...tagged.tagsWritten.map((tag) => ({ tag, result: 'written' as const })),
      ...tagged.tagsPresent.map((tag) => ({ tag, result: 'present' as const })),
      ...tagged.tagMoves.map((m) => ({ tag: m.tag, result: 'tag-move' as const, currentDigest: m.currentDigest })),
    ],
    ...(fallbackTag ? { fallbackTag } : {}),
    ...(attestationTags.length > 0 ? { attestationTags } : {}),
  };
}
