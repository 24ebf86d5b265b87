// Reading signatures and attestations on a registry, verifying them, and copying them byte for byte
// to another repository, through lib/oci's RegistryClient. (The promoter writes its own signatures
// with ./signature-writer.ts.)
//
// Formats read (all cosign v3.1.3 compatible):
//  - legacy signature: manifest tagged `sha256-<hex>.sig` (simple signing layers)
//  - legacy attestation: manifest tagged `sha256-<hex>.att` (DSSE envelope layers)
//  - sigstore bundle v0.3 referrers: artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
//    found through the referrers API or the `sha256-<hex>` tag-schema fallback index.
import { isOciError, Referrers, type Descriptor, type DigestRef, type RegistryClient, type RepositoryRef } from '../oci';
import { errorMessage } from './errors';
import type { VerificationKey } from './signing-keys';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  DSSE_ENVELOPE_MEDIA_TYPE,
  PREDICATE_TYPE_ANNOTATION,
  OCI_EMPTY_BYTES,
  SIGSTORE_BUNDLE_V03,
  SLSA_PROVENANCE_V1,
  assertDigest,
  attestationTag,
  signatureTag,
} from './media-types';
import type { ImageManifestJson } from './oci-artifact';
import { parseJson, sha256Digest } from './oci-artifact';
import { parseSignatureManifest } from './simple-signing';
import { verifyBundle, type KeylessTrust } from './verify-bundle';
import { verifySlsaProvenance, type ProvenancePolicy, type ProvenanceVerdict } from './verify-provenance';
import { verifyCosignSignature, type LegacySigner } from './verify-signature';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

interface FoundBundle {
  /** The referrer manifest that carries the bundle. */
  referrer: StoredManifest;
  bundle: Buffer;
  predicateType?: string;
}

export interface FoundSignatures {
  /** `sha256-<hex>.sig` manifest. */
  signature?: StoredManifest;
  /** `sha256-<hex>.att` manifest. */
  attestation?: StoredManifest;
  bundles: FoundBundle[];
}

export interface ImageSignatureVerification {
  valid: boolean;
  /** Which forms carried a valid signature. */
  formats: ('legacy' | 'bundle')[];
  signers: (LegacySigner | { keyHint?: string; subjectAlternativeName?: string; issuer?: string; referrer: string })[];
  /** Digests of the manifests whose signature verified (the `.sig` manifest, bundle referrers): what a verification summary names as its inputs. */
  verified: string[];
  errors: string[];
}

export interface CopySignaturesResult {
  signature: 'copied' | 'unchanged' | 'absent';
  attestation: 'copied' | 'unchanged' | 'absent';
  referrers: { copied: number; unchanged: number };
  errors: string[];
}

const toBuffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

export function isBundleReferrer(d: Descriptor): boolean {
  return d.artifactType === SIGSTORE_BUNDLE_V03 || d.artifactType?.startsWith('application/vnd.dev.sigstore.bundle') === true;
}

/**
 * A sigstore bundle that is an image signature, not an attestation, by the annotations of its
 * referrer manifest: a message signature carries no predicate type, cosign v3 signs as a DSSE
 * statement of predicate type cosign/sign/v1 (as Validate reads them).
 */
export function isSignatureBundle(d: Descriptor, manifestAnnotations: Record<string, string> | undefined = d.annotations): boolean {
  if (!isBundleReferrer(d)) return false;
  const predicateType = manifestAnnotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
  return predicateType === undefined || predicateType === COSIGN_SIGN_PREDICATE_TYPE;
}

/** The empty config `{}` every bundle referrer shares: the one signature blob usually already there. */
const SHARED_EMPTY_BLOB = sha256Digest(OCI_EMPTY_BYTES);

/** Reads and writes signatures and attestations of image digests on registries. */
export class SignatureStore {
  constructor(
    readonly client: RegistryClient,
    readonly referrers: Referrers = new Referrers(client),
  ) {}

  /** Every signature and attestation of a digest, in both cosign formats. */
  async findSignatures(target: DigestRef): Promise<FoundSignatures> {
    assertDigest(target.digest);
    const { digest } = target;
    const [signature, attestation, referrers] = await Promise.all([
      this.manifestIfPresent(target, { tag: signatureTag(digest) }),
      this.manifestIfPresent(target, { tag: attestationTag(digest) }),
      this.referrers.list(target, digest),
    ]);
    const bundles: FoundBundle[] = [];
    for (const d of referrers.filter(isBundleReferrer)) {
      const referrer = await this.manifestIfPresent(target, { digest: d.digest });
      if (!referrer) continue; // listed in a stale fallback index
      const m = parseJson<ImageManifestJson>(referrer.bytes, 'referrer manifest');
      const layer = m.layers?.find((l) => l.mediaType.startsWith('application/vnd.dev.sigstore.bundle'));
      if (!layer) continue;
      const bundle = toBuffer(await this.client.getBlob(target.host, target.repository, layer.digest));
      bundles.push({ referrer, bundle, predicateType: m.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION] });
    }
    return { signature, attestation, bundles };
  }

  /**
   * Verifies the image signatures of a digest: a `.sig` signature or a bundle
   * whose statement has predicateType https://sigstore.dev/cosign/sign/v1 and
   * names the digest. (cosign v3 `verify` accepts any DSSE bundle referrer;
   * attestations are deliberately not counted as signatures here.)
   */
  async verifyImageSignatures(
    target: DigestRef,
    trust: { keys?: VerificationKey[]; keyless?: KeylessTrust },
    found?: FoundSignatures,
  ): Promise<ImageSignatureVerification> {
    const f = found ?? (await this.findSignatures(target));
    const result: ImageSignatureVerification = { valid: false, formats: [], signers: [], verified: [], errors: [] };
    if (f.signature && (trust.keys?.length || trust.keyless)) {
      const v = await verifyCosignSignature(f.signature.bytes, this.blobGetter(target), { digest: target.digest, keys: trust.keys, keyless: trust.keyless });
      if (v.valid) {
        result.formats.push('legacy');
        result.verified.push(f.signature.digest);
      }
      result.signers.push(...v.signers);
      result.errors.push(...v.errors.map((e) => `.sig: ${e}`));
    }
    let bundleOk = false;
    for (const b of f.bundles.filter((x) => x.predicateType === undefined || x.predicateType === COSIGN_SIGN_PREDICATE_TYPE)) {
      const v = verifyBundle(b.bundle, { ...trust, expectedDigest: target.digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE });
      if (v.ok && v.signer) {
        bundleOk = true;
        result.signers.push({ ...v.signer, referrer: b.referrer.digest });
        result.verified.push(b.referrer.digest);
      } else {
        result.errors.push(...v.errors.map((e) => `bundle ${b.referrer.digest}: ${e}`));
      }
    }
    if (bundleOk) result.formats.push('bundle');
    if (!f.signature && f.bundles.length === 0) result.errors.push('no signatures found');
    result.valid = result.formats.length > 0;
    return result;
  }

  /**
   * SLSA provenance candidates: bundle referrers and legacy `.att` layers with the SLSA v1 predicate
   * type, each with the digest of the manifest that carries it (a summary names it as an input).
   */
  async findProvenance(target: DigestRef, found?: FoundSignatures): Promise<{ source: string; manifest: string; document: Buffer }[]> {
    const f = found ?? (await this.findSignatures(target));
    const out: { source: string; manifest: string; document: Buffer }[] = [];
    for (const b of f.bundles) {
      if (b.predicateType === SLSA_PROVENANCE_V1) out.push({ source: `referrer ${b.referrer.digest}`, manifest: b.referrer.digest, document: b.bundle });
    }
    if (f.attestation) {
      const m = parseSignatureManifest(f.attestation.bytes);
      for (const layer of m.layers) {
        if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) continue;
        if (layer.annotations?.[PREDICATE_TYPE_ANNOTATION] !== SLSA_PROVENANCE_V1) continue;
        out.push({
          source: `${attestationTag(target.digest)} layer ${layer.digest}`,
          manifest: f.attestation.digest,
          document: toBuffer(await this.client.getBlob(target.host, target.repository, layer.digest)),
        });
      }
    }
    return out;
  }

  /** Checks the digest's SLSA provenance against a policy; ok when any candidate passes. */
  async verifyImageProvenance(
    target: DigestRef,
    policy: Omit<ProvenancePolicy, 'digest'>,
    found?: FoundSignatures,
  ): Promise<ProvenanceVerdict & { source?: string; manifest?: string }> {
    const candidates = await this.findProvenance(target, found);
    if (candidates.length === 0) return { ok: false, reason: 'no SLSA provenance v1 attestation found' };
    const reasons: string[] = [];
    for (const c of candidates) {
      const v = verifySlsaProvenance(c.document, { ...policy, digest: target.digest });
      if (v.ok) return { ...v, source: c.source, manifest: c.manifest };
      reasons.push(`${c.source}: ${v.reason}`);
    }
    return { ok: false, reason: reasons.join('; ') };
  }

  /**
   * Copies the signatures and attestations of a digest byte for byte to another
   * repository (same or other registry): `.sig` and `.att` manifests with their
   * blobs, and every sigstore bundle referrer (whose fallback index entry is
   * added where the destination has no referrers API). Digests stay identical.
   */
  async copySignatures(from: DigestRef, to: RepositoryRef, found?: FoundSignatures): Promise<CopySignaturesResult> {
    assertDigest(from.digest);
    const f = found ?? (await this.findSignatures(from));
    const result: CopySignaturesResult = { signature: 'absent', attestation: 'absent', referrers: { copied: 0, unchanged: 0 }, errors: [] };
    result.signature = await this.copyTagged(from, to, signatureTag(from.digest), f.signature);
    result.attestation = await this.copyTagged(from, to, attestationTag(from.digest), f.attestation);
    const present = new Set((await this.referrers.list(to, from.digest)).map((d) => d.digest));
    for (const b of f.bundles) {
      if (present.has(b.referrer.digest)) {
        result.referrers.unchanged++;
        continue;
      }
      try {
        await this.copyBlobs(from, to, b.referrer.bytes);
        await this.referrers.push(to, b.referrer.bytes, b.referrer.mediaType);
        result.referrers.copied++;
      } catch (err) {
        result.errors.push(`referrer ${b.referrer.digest}: ${errorMessage(err)}`);
      }
    }
    return result;
  }

  private async manifestIfPresent(repo: RepositoryRef, ref: { tag?: string; digest?: string }): Promise<StoredManifest | undefined> {
    try {
      const m = await this.client.getManifest({ host: repo.host, repository: repo.repository, ...ref });
      return { digest: m.digest, mediaType: m.mediaType, bytes: toBuffer(m.bytes) };
    } catch (err) {
      if (isOciError(err, 'MANIFEST_UNKNOWN') || isOciError(err, 'NAME_UNKNOWN')) return undefined;
      throw err;
    }
  }

  private blobGetter(repo: RepositoryRef) {
    return async (digest: string): Promise<Buffer> => toBuffer(await this.client.getBlob(repo.host, repo.repository, digest));
  }

  /**
   * Puts a small signature blob. Payloads, signature configs and bundles are new bytes each time,
   * so a HEAD first would almost always be a wasted request: they are uploaded straight away
   * (uploading a blob the registry already has is harmless). The shared empty config is checked first.
   */
  private async putSignatureBlob(repo: RepositoryRef, digest: string, bytes: Uint8Array): Promise<void> {
    if (digest === SHARED_EMPTY_BLOB && (await this.client.headBlob(repo.host, repo.repository, digest)) !== undefined) return;
    await this.client.uploadBlob(repo.host, repo.repository, { digest, size: bytes.length }, bytes);
  }

  private async copyBlobs(from: DigestRef, to: RepositoryRef, manifest: Buffer): Promise<void> {
    const m = parseJson<ImageManifestJson>(manifest, 'manifest');
    for (const d of [m.config, ...(m.layers ?? [])]) {
      if (!d) continue;
      if (from.host === to.host && (await this.client.mountBlob(to.host, to.repository, d.digest, from.repository))) continue;
      if (d.digest === SHARED_EMPTY_BLOB) {
        await this.putSignatureBlob(to, d.digest, OCI_EMPTY_BYTES);
        continue;
      }
      // Signature blobs are small (payloads, bundles): read whole, verified by getBlob.
      const bytes = await this.client.getBlob(from.host, from.repository, d.digest);
      await this.putSignatureBlob(to, d.digest, bytes);
    }
  }

  private async copyTagged(from: DigestRef, to: RepositoryRef, tag: string, source: StoredManifest | undefined) {
    if (!source) return 'absent' as const;
    const existing = await this.manifestIfPresent(to, { tag });
    if (existing?.digest === source.digest) return 'unchanged' as const;
    await this.copyBlobs(from, to, source.bytes);
    // The source is authoritative for mirrors: its bytes replace a differing tag.
    await this.client.putManifest({ host: to.host, repository: to.repository, tag }, source.bytes, source.mediaType);
    return 'copied' as const;
  }
}
