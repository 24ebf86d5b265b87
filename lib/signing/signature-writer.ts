// Writing signatures and attestations the promoter already made (and archived) into a repository,
// with the requests a registry cannot do without and no more:
//  - the tags other writers share (`.sig`, the fallback index `sha256-<hex>`) are read right before
//    they are written and merged into, then read back (lib/oci/shared-tag.ts): whatever another run
//    or cosign added since the Plan listed the repository stays, and so does ours;
//  - blobs go by mount wherever another repository on the same host holds them (placeBlob);
//  - referrer manifests are written by digest; on a registry with the referrers API that is all,
//    elsewhere the fallback index `sha256-<hex>` gets them, in one update for all referrers a step
//    writes (and Sign may leave its entry to Attest, which writes the index once with both).
// Every byte of ours is fixed by the archived inputs, so a retried write repeats itself exactly.
import type { SerializedBundle } from '@sigstore/bundle';
import {
  placeBlob,
  referrerDescriptor,
  registryTag,
  updateSharedTag,
  type BlobCache,
  type Descriptor,
  type Referrers,
  type RegistryClient,
  type RepositoryRef,
  type SharedTagOptions,
} from '../oci';
import { buildBundleReferrer } from './bundle';
import { legacyLayerOf, type SignatureSet } from './image-signer';
import { sha256Digest } from './oci-artifact';
import { SIGSTORE_BUNDLE_V03, signatureTag } from './media-types';
import { mergeSignatureArtifact } from './simple-signing';

export interface WriteRequest {
  /** The signed manifest (as the registry holds it: digest, media type, size). */
  subject: Pick<Descriptor, 'digest' | 'mediaType' | 'size'>;
  /** The image signature to write (Sign). */
  set?: SignatureSet;
  /** Attestation bundles to attach, with the creation time their referrer carries (Attest). */
  attestations?: { bundle: SerializedBundle; created: string }[];
  /** Fallback-index entries an earlier step left to this one (Sign's, for Attest). */
  indexBase?: Descriptor[];
  /** Leave the fallback index to a later step: its entries come back in `pendingIndex`. */
  deferIndex?: boolean;
}

export interface WriteOutcome {
  legacy?: 'written' | 'present';
  /** Descriptors of the referrer manifests written. */
  referrers: Descriptor[];
  index: 'written' | 'unchanged' | 'deferred' | 'api' | 'none';
  pendingIndex?: Descriptor[];
}

/** The fallback-index entry of a bundle's referrer manifest, as SignatureWriter writes it (the bytes are fixed by its inputs). */
export function bundleReferrerDescriptor(bundle: SerializedBundle, subject: WriteRequest['subject'], created: string): Descriptor {
  const referrer = buildBundleReferrer(bundle, subject, SIGSTORE_BUNDLE_V03, { created: new Date(created) });
  return referrerDescriptor(referrer.manifest, referrer.mediaType).descriptor;
}

export class SignatureWriter {
  constructor(
    private readonly client: RegistryClient,
    private readonly referrers: Referrers,
    private readonly blobs: BlobCache,
    /** Rounds and pauses of the shared-tag updates (tests make them instant). */
    private readonly sharedTags: SharedTagOptions = {},
  ) {}

  async write(repo: RepositoryRef, req: WriteRequest): Promise<WriteOutcome> {
    const out: WriteOutcome = { referrers: [], index: 'none' };
    const { digest } = req.subject;
    const layer = req.set && legacyLayerOf(req.set);
    if (layer) {
      const tag = registryTag(this.client, repo, signatureTag(digest));
      const result = await updateSharedTag(
        tag,
        {
          merge: async (current) => {
            let merged;
            try {
              merged = mergeSignatureArtifact(current ? Buffer.from(current.bytes) : undefined, layer);
            } catch (err) {
              // Somebody else's `.sig` we cannot add to: refused, not overwritten.
              throw new Error(`${tag.where}: ${(err as Error).message}; not overwritten`);
            }
            if (!merged.changed) return undefined;
            // The new config and our payload (layers already there keep their blobs).
            for (const b of merged.artifact.blobs) await placeBlob(this.client, this.blobs, repo, b.bytes, b.digest);
            return { bytes: merged.artifact.manifest, digest: sha256Digest(merged.artifact.manifest), mediaType: merged.artifact.mediaType };
          },
        },
        this.sharedTags,
      );
      out.legacy = result === 'written' ? 'written' : 'present';
    }

    const bundles = [...(req.set?.bundle ? [req.set.bundle] : []), ...(req.attestations ?? [])];
    let api = false;
    for (const b of bundles) {
      const referrer = buildBundleReferrer(b.bundle, req.subject, SIGSTORE_BUNDLE_V03, { created: new Date(b.created) });
      // (bundleReferrerDescriptor above computes the same entry without writing.)
      for (const blob of referrer.blobs) await placeBlob(this.client, this.blobs, repo, blob.bytes, blob.digest);
      const { headers } = await this.client.putManifestDetailed(
        { host: repo.host, repository: repo.repository, digest: referrer.digest },
        referrer.manifest,
        referrer.mediaType,
      );
      api ||= this.referrers.noteSubjectHeader(repo.host, headers);
      out.referrers.push(referrerDescriptor(referrer.manifest, referrer.mediaType).descriptor);
    }
    const entries = [...(req.indexBase ?? []), ...out.referrers];
    if (entries.length === 0) return out;
    if (api || (await this.referrers.hasApi(repo, digest))) {
      out.index = 'api';
      return out;
    }
    if (req.deferIndex) {
      out.index = 'deferred';
      out.pendingIndex = entries;
      return out;
    }
    out.index = await this.referrers.addToFallbackIndex(repo, digest, entries, this.sharedTags);
    return out;
  }
}
