// cosign v2's attestations of an image (`cosign attest` without the new bundle format): a manifest
// tagged `sha256-<hex>.att` in the image's repository, one DSSE envelope per layer. Promote carries
// the source's to every destination: the manifest by digest with its blobs, then the tag. The tag
// is shared with whoever else attests the image there (cosign appends a layer to it), so the
// destination's tag gets the source's layers it lacks appended (./shared-tag.ts): nothing another
// writer put there is dropped, and a tag that holds every layer already is left as it is.
import type { RegistryClient } from './client';
import { copyImage, type CopyOptions } from './copy';
import { sha256Digest } from './digest';
import { OciError } from './errors';
import { OCI_MANIFEST, type ImageManifest } from './media-types';
import { digestTag, type DigestRef, type RepositoryRef } from './reference';
import { registryTag, updateSharedTag, type SharedTagOptions, type SharedTagResult, type SharedTagUpdate } from './shared-tag';

/** A manifest read through a tag: its bytes, digest and media type. */
export interface TaggedManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

/** The tag cosign v2 keeps an image's attestations under. */
export const legacyAttestationTag = (subjectDigest: string): string => `${digestTag(subjectDigest)}.att`;

function parseLayered(bytes: Uint8Array, where: string): ImageManifest {
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as ImageManifest;
    if (!Array.isArray(m.layers) || !m.config) throw new Error('no layers');
    return m;
  } catch {
    throw new OciError({ code: 'INVALID_RESPONSE', message: `${where} is not an image manifest with layers` });
  }
}

/**
 * `current` (the destination's `.att`, absent: undefined) with the layers of `source` it lacks
 * appended; undefined when it lacks none. A layer is the same when its digest is (the envelope's
 * bytes). Existing layers keep their place and `current` its config: cosign reads the layers only,
 * and a config of ours would be a change nobody asked for.
 */
export function mergeAttestationManifest(current: Uint8Array | undefined, source: Uint8Array, where: string): Uint8Array | undefined {
  const add = parseLayered(source, `source attestation for ${where}`);
  if (!current) return source;
  const have = parseLayered(current, where);
  const known = new Set(have.layers.map((l) => l.digest));
  const missing = add.layers.filter((l) => !known.has(l.digest));
  if (missing.length === 0) return undefined;
  return new TextEncoder().encode(JSON.stringify({ ...have, layers: [...have.layers, ...missing] }));
}

/** The shared-tag update that merges `source` into a destination's `.att` (see mergeAttestationManifest). */
function attestationTagUpdate(source: TaggedManifest, where: string): SharedTagUpdate {
  return {
    merge(current) {
      if (current?.digest === source.digest) return undefined;
      const bytes = mergeAttestationManifest(current?.bytes, source.bytes, where);
      if (!bytes) return undefined;
      const mediaType = (current && parseLayered(current.bytes, where).mediaType) || source.mediaType || OCI_MANIFEST;
      return { bytes, digest: sha256Digest(bytes), mediaType };
    },
  };
}

export interface LegacyAttestationCopy {
  tag: string;
  result: SharedTagResult;
  manifestsWritten: number;
  blobsUploaded: number;
  blobsMounted: number;
  bytesUploaded: number;
}

/**
 * Copies `source` (the `.att` manifest of `subject` in the source repository) to `dst`: the
 * manifest by digest with its envelopes first, so the merged tag only names blobs the registry
 * holds, then the tag, merged with what `dst` holds.
 */
export async function copyLegacyAttestation(
  client: RegistryClient,
  subject: DigestRef,
  dst: RepositoryRef,
  source: TaggedManifest,
  opts: Omit<CopyOptions, 'tags'> & { sharedTags?: SharedTagOptions } = {},
): Promise<LegacyAttestationCopy> {
  const { sharedTags, ...copyOpts } = opts;
  const copied = await copyImage(client, { host: subject.host, repository: subject.repository, digest: source.digest }, dst, copyOpts);
  const tag = registryTag(client, dst, legacyAttestationTag(subject.digest));
  const result = await updateSharedTag(tag, attestationTagUpdate(source, tag.where), sharedTags);
  return {
    tag: legacyAttestationTag(subject.digest),
    result,
    manifestsWritten: copied.manifestsWritten + (result === 'written' ? 1 : 0),
    blobsUploaded: copied.blobsUploaded,
    blobsMounted: copied.blobsMounted,
    bytesUploaded: copied.bytesUploaded,
  };
}
