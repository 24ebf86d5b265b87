// Keyless signatures on a registry: the `.sig` layer merged into the digest's legacy signature
// manifest, the bundle attached as an OCI 1.1 referrer (registry.ts does the I/O for both).
import { isOciError, type RegistryClient } from '../oci';
import type { KeylessImageSignatures } from './keyless-image';
import { SIMPLE_SIGNING_MEDIA_TYPE, assertDigest, signatureTag } from './media-types';
import { attachAttestation, getManifestIfPresent, pushBlobs, type AttachResult, type ImageTarget } from './registry';
import { mergeSignatureArtifact, parseSignatureManifest, type SignatureLayer } from './simple-signing';

const MAX_ROUNDS = 5;

/**
 * Adds a prepared signature layer to `sha256-<hex>.sig` (read-modify-write, re-read after each
 * write: a concurrent writer on a registry without conditional PUTs may drop our layer).
 */
export async function attachSignatureLayer(client: RegistryClient, target: ImageTarget, layer: SignatureLayer): Promise<{ changed: boolean; manifestDigest: string }> {
  assertDigest(target.digest);
  const { host, repository, digest } = target;
  let changed = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const existing = await getManifestIfPresent(client, host, repository, { tag: signatureTag(digest) });
    const payloads = new Map<string, Buffer>();
    for (const l of existing ? parseSignatureManifest(existing.bytes).layers : []) {
      if (l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
      try {
        payloads.set(l.digest, Buffer.from(await client.getBlob(host, repository, l.digest)));
      } catch (err) {
        if (!isOciError(err, 'BLOB_UNKNOWN')) throw err;
      }
    }
    const merged = mergeSignatureArtifact(existing?.bytes, layer, { payloads });
    if (!merged.changed) return { changed, manifestDigest: merged.artifact.digest };
    await pushBlobs(client, host, repository, merged.artifact);
    await client.putManifest({ host, repository, tag: merged.artifact.tag }, merged.artifact.manifest, merged.artifact.mediaType);
    changed = true;
  }
  throw new Error(`could not record signature in ${signatureTag(digest)} on ${host}/${repository}: concurrent updates`);
}

/** Attaches what signImageKeyless made: the legacy layer and/or the bundle referrer. */
export async function attachKeylessSignatures(client: RegistryClient, target: ImageTarget, signatures: KeylessImageSignatures): Promise<AttachResult> {
  const result: AttachResult = {};
  if (signatures.legacy) result.legacy = await attachSignatureLayer(client, target, signatures.legacy.layer);
  if (signatures.bundle) result.bundle = await attachAttestation(client, target, signatures.bundle);
  return result;
}
