// The referrers of a staging image that are promoted with it. The source's own signatures stay
// behind: Validate verified them, and what the promoter promotes carries the promoter's signature
// (a staging key is not the production trust). Everything else the build attached (SBOMs,
// provenance and other attestations) goes along, and so does its legacy cosign `.att` (its layers
// are attestations only: cosign v2 keeps signatures under `.sig`).
import { LRUCache } from 'lru-cache';
import { remembered } from '../util/remembered';
import type { Descriptor, DigestRef, TaggedManifest } from '../oci';
import { isBundleReferrer, isSignatureBundle } from './signature-store';

/**
 * `all` without the signatures. A bundle's index entry that carries no annotations does not say
 * whether it is a signature: its referrer manifest does, read with `readManifest`.
 */
export async function withoutSignatures(all: Descriptor[], readManifest: (digest: string) => Promise<Uint8Array>): Promise<Descriptor[]> {
  const keep: Descriptor[] = [];
  for (const d of all) {
    const annotations = isBundleReferrer(d) && !d.annotations ? manifestAnnotations(await readManifest(d.digest)) : d.annotations;
    if (!isSignatureBundle(d, annotations)) keep.push(d);
  }
  return keep;
}

function manifestAnnotations(bytes: Uint8Array): Record<string, string> | undefined {
  return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { annotations?: Record<string, string> }).annotations;
}

/**
 * The promotable referrers of each source digest, listed once for all its destinations (a digest
 * goes to twenty registries in a row) and kept for the most recent `maxDigests` digests. A failed
 * listing is not kept: the next copy asks again.
 */
export class SourceReferrers {
  private readonly lists: LRUCache<string, Promise<Descriptor[]>>;
  private readonly attestations: LRUCache<string, Promise<{ manifest?: TaggedManifest }>>;

  constructor(
    private readonly list: (src: DigestRef) => Promise<Descriptor[]>,
    private readonly readManifest: (ref: DigestRef) => Promise<Uint8Array>,
    /** The source's `sha256-<hex>.att` manifest of a digest; undefined when it has none. */
    private readonly readLegacyAttestation: (src: DigestRef) => Promise<TaggedManifest | undefined> = () => Promise.resolve(undefined),
    maxDigests = 10_000,
  ) {
    this.lists = new LRUCache({ max: maxDigests });
    this.attestations = new LRUCache({ max: maxDigests });
  }

  of(src: DigestRef): Promise<Descriptor[]> {
    return remembered(this.lists, keyOf(src), () => this.list(src).then((all) => withoutSignatures(all, (digest) => this.readManifest({ ...src, digest }))));
  }

  /** The source's legacy `.att` manifest of `src.digest`, read once for all its destinations. */
  async legacyAttestationOf(src: DigestRef): Promise<TaggedManifest | undefined> {
    return (await remembered(this.attestations, keyOf(src), async () => ({ manifest: await this.readLegacyAttestation(src) }))).manifest;
  }
}

const keyOf = (src: DigestRef) => `${src.host}/${src.repository}@${src.digest}`;
