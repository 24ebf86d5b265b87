// Writing signatures and attestations the promoter already made (and archived) into a repository,
// with the requests a registry cannot do without and no more:
//  - nothing is read back: the bytes are ours, and what the repository held is what its tags/list
//    said (a `.sig` or fallback index tag that was listed is read once to merge into; a new one is
//    written whole);
//  - blobs go by mount wherever another repository on the same host holds them (placeBlob);
//  - referrer manifests are written by digest; on a registry with the referrers API that is all,
//    elsewhere the fallback index `sha256-<hex>` gets them, in one PUT for all referrers a step writes
//    (and Sign may leave its entry to Attest, which writes the index once with both).
// Every byte written is fixed by the archived inputs, so a retried write repeats itself exactly.
import type { SerializedBundle } from '@sigstore/bundle';
import { placeBlob, referrerDescriptor, withReferrers, type BlobCache, type Descriptor, type ImageIndex, type Referrers, type RegistryClient, type RepositoryRef } from '../oci';
import { buildBundleReferrer } from './bundle';
import { legacyLayerOf, type SignatureSet } from './image-signer';
import { OCI_INDEX, SIGSTORE_BUNDLE_V03, referrersFallbackTag, signatureTag } from './media-types';
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

/** What the repository held when it was listed (tags/list): which signature tags exist. */
export interface RepoListing {
  has(tag: string): boolean;
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
  ) {}

  async write(repo: RepositoryRef, req: WriteRequest, listed: RepoListing): Promise<WriteOutcome> {
    const out: WriteOutcome = { referrers: [], index: 'none' };
    const { digest } = req.subject;
    const layer = req.set && legacyLayerOf(req.set);
    if (layer) {
      const tag = signatureTag(digest);
      const existing = listed.has(tag) ? (await this.client.getManifest({ host: repo.host, repository: repo.repository, tag })).bytes : undefined;
      const merged = mergeSignatureArtifact(existing ? Buffer.from(existing) : undefined, layer);
      if (merged.changed) {
        // The new config and our payload (layers already there keep their blobs).
        for (const b of merged.artifact.blobs) await placeBlob(this.client, this.blobs, repo, b.bytes, b.digest);
        await this.client.putManifest({ host: repo.host, repository: repo.repository, tag }, merged.artifact.manifest, merged.artifact.mediaType);
      }
      out.legacy = merged.changed ? 'written' : 'present';
    }

    const bundles = [
      ...(req.set?.bundle ? [req.set.bundle] : []),
      ...(req.attestations ?? []),
    ];
    let api = false;
    for (const b of bundles) {
      const referrer = buildBundleReferrer(b.bundle, req.subject, SIGSTORE_BUNDLE_V03, { created: new Date(b.created) });
      // (bundleReferrerDescriptor above computes the same entry without writing.)
      for (const blob of referrer.blobs) await placeBlob(this.client, this.blobs, repo, blob.bytes, blob.digest);
      const { headers } = await this.client.putManifestDetailed({ host: repo.host, repository: repo.repository, digest: referrer.digest }, referrer.manifest, referrer.mediaType);
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
    const tag = referrersFallbackTag(digest);
    const current: ImageIndex | undefined = listed.has(tag) ? await this.referrers.fallbackIndex(repo, digest) : undefined;
    const next = withReferrers(current, entries);
    if (!next) {
      out.index = 'unchanged';
      return out;
    }
    await this.client.putManifest({ host: repo.host, repository: repo.repository, tag }, Buffer.from(JSON.stringify(next)), OCI_INDEX);
    out.index = 'written';
    return out;
  }
}
