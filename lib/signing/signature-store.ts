// Signatures and attestations on a registry, through lib/oci's RegistryClient.
//
// Formats read and written (all cosign v3.1.3 compatible):
//  - legacy signature: manifest tagged `sha256-<hex>.sig` (simple signing layers)
//  - legacy attestation: manifest tagged `sha256-<hex>.att` (DSSE envelope layers)
//  - sigstore bundle v0.3 referrers: artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
//    found through the referrers API or the `sha256-<hex>` tag-schema fallback index.
import { isOciError, Referrers, type Descriptor, type DigestRef, type RegistryClient, type RepositoryRef } from '../oci';
import {
  bundleStatement, buildBundleReferrer, parseBundle, signImageBundle, type BundleReferrerOptions, type SerializedBundle,
} from './bundle';
import { errorMessage } from './errors';
import type { SigningKey, VerificationKey } from './signing-keys';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION, COSIGN_SIGN_PREDICATE_TYPE, DSSE_ENVELOPE_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION,
  OCI_EMPTY_BYTES, SIGSTORE_BUNDLE_V03, SIMPLE_SIGNING_MEDIA_TYPE, SLSA_PROVENANCE_V1, assertDigest, attestationTag, signatureTag,
} from './media-types';
import type { ImageManifestJson, OciArtifact } from './oci-artifact';
import { parseJson, sha256Digest } from './oci-artifact';
import type { KeylessImageSignatures } from './keyless-image';
import { mergeSignatureArtifact, parseSignatureManifest, signatureLayer, type SignatureLayer } from './simple-signing';
import { verifyBundle, type KeylessTrust } from './verify-bundle';
import { verifySlsaProvenance, type ProvenancePolicy, type ProvenanceVerdict } from './verify-provenance';
import { verifyCosignSignature, type LegacySigner } from './verify-signature';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface FoundBundle {
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
  errors: string[];
}

export type SignatureFormat = 'legacy' | 'bundle' | 'both';

export interface AttachSignatureOptions {
  /** legacy `.sig` (default: read by every cosign version), v3 bundle referrer, or both. */
  format?: SignatureFormat;
  /** docker-reference in the simple signing payload; defaults to `host/repository` like cosign. */
  dockerReference?: string;
  annotations?: Record<string, string>;
}

export interface AttachResult {
  legacy?: { changed: boolean; manifestDigest: string };
  bundle?: { changed: boolean; manifestDigest: string };
}

export interface CopySignaturesResult {
  signature: 'copied' | 'unchanged' | 'absent';
  attestation: 'copied' | 'unchanged' | 'absent';
  referrers: { copied: number; unchanged: number };
  errors: string[];
}

const toBuffer = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

function isBundleReferrer(d: Descriptor): boolean {
  return d.artifactType === SIGSTORE_BUNDLE_V03 || d.artifactType?.startsWith('application/vnd.dev.sigstore.bundle') === true;
}

function dssePayload(bundle: Buffer): { predicateType?: string; payload?: string } {
  try {
    const b = parseBundle(bundle);
    if (b.content.$case !== 'dsseEnvelope') return {};
    return { predicateType: bundleStatement(b)?.predicateType, payload: Buffer.from(b.content.dsseEnvelope.payload).toString('base64') };
  } catch {
    return {};
  }
}

/** The empty config `{}` every bundle referrer shares: the one signature blob usually already there. */
const SHARED_EMPTY_BLOB = sha256Digest(OCI_EMPTY_BYTES);

const MAX_ROUNDS = 5;

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
  async verifyImageSignatures(target: DigestRef, trust: { keys?: VerificationKey[]; keyless?: KeylessTrust }, found?: FoundSignatures): Promise<ImageSignatureVerification> {
    const f = found ?? (await this.findSignatures(target));
    const result: ImageSignatureVerification = { valid: false, formats: [], signers: [], errors: [] };
    if (f.signature && (trust.keys?.length || trust.keyless)) {
      const v = await verifyCosignSignature(f.signature.bytes, this.blobGetter(target), { digest: target.digest, keys: trust.keys, keyless: trust.keyless });
      if (v.valid) result.formats.push('legacy');
      result.signers.push(...v.signers);
      result.errors.push(...v.errors.map((e) => `.sig: ${e}`));
    }
    let bundleOk = false;
    for (const b of f.bundles.filter((x) => x.predicateType === undefined || x.predicateType === COSIGN_SIGN_PREDICATE_TYPE)) {
      const v = verifyBundle(b.bundle, { ...trust, expectedDigest: target.digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE });
      if (v.ok && v.signer) {
        bundleOk = true;
        result.signers.push({ ...v.signer, referrer: b.referrer.digest });
      } else {
        result.errors.push(...v.errors.map((e) => `bundle ${b.referrer.digest}: ${e}`));
      }
    }
    if (bundleOk) result.formats.push('bundle');
    if (!f.signature && f.bundles.length === 0) result.errors.push('no signatures found');
    result.valid = result.formats.length > 0;
    return result;
  }

  /** SLSA provenance candidates: bundle referrers and legacy `.att` layers with the SLSA v1 predicate type. */
  async findProvenance(target: DigestRef, found?: FoundSignatures): Promise<{ source: string; document: Buffer }[]> {
    const f = found ?? (await this.findSignatures(target));
    const out: { source: string; document: Buffer }[] = [];
    for (const b of f.bundles) {
      if (b.predicateType === SLSA_PROVENANCE_V1) out.push({ source: `referrer ${b.referrer.digest}`, document: b.bundle });
    }
    if (f.attestation) {
      const m = parseSignatureManifest(f.attestation.bytes);
      for (const layer of m.layers) {
        if (layer.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) continue;
        if (layer.annotations?.[PREDICATE_TYPE_ANNOTATION] !== SLSA_PROVENANCE_V1) continue;
        out.push({ source: `${attestationTag(target.digest)} layer ${layer.digest}`, document: toBuffer(await this.client.getBlob(target.host, target.repository, layer.digest)) });
      }
    }
    return out;
  }

  /** Checks the digest's SLSA provenance against a policy; ok when any candidate passes. */
  async verifyImageProvenance(target: DigestRef, policy: Omit<ProvenancePolicy, 'digest'>, found?: FoundSignatures): Promise<ProvenanceVerdict & { source?: string }> {
    const candidates = await this.findProvenance(target, found);
    if (candidates.length === 0) return { ok: false, reason: 'no SLSA provenance v1 attestation found' };
    const reasons: string[] = [];
    for (const c of candidates) {
      const v = verifySlsaProvenance(c.document, { ...policy, digest: target.digest });
      if (v.ok) return { ...v, source: c.source };
      reasons.push(`${c.source}: ${v.reason}`);
    }
    return { ok: false, reason: reasons.join('; ') };
  }

  /**
   * Signs a digest with a local key unless a valid signature by that key is
   * already there (for each requested format). Safe to repeat.
   */
  async attachSignature(target: DigestRef, key: SigningKey, options: AttachSignatureOptions = {}): Promise<AttachResult> {
    assertDigest(target.digest);
    const format = options.format ?? 'legacy';
    const result: AttachResult = {};
    if (format === 'legacy' || format === 'both') result.legacy = await this.attachLegacySignature(target, key, options);
    if (format === 'bundle' || format === 'both') result.bundle = await this.attachBundleSignature(target, key, options);
    return result;
  }

  /** Attaches what signImageKeyless made: the legacy layer and/or the bundle referrer. */
  async attachKeylessSignatures(target: DigestRef, signatures: KeylessImageSignatures): Promise<AttachResult> {
    const result: AttachResult = {};
    if (signatures.legacy) result.legacy = await this.attachSignatureLayer(target, signatures.legacy.layer);
    if (signatures.bundle) result.bundle = await this.attachAttestation(target, signatures.bundle);
    return result;
  }

  /**
   * Adds a prepared signature layer to `sha256-<hex>.sig` (read-modify-write, re-read after each
   * write: a concurrent writer on a registry without conditional PUTs may drop our layer). With
   * `key`, an existing valid signature by that key over the digest counts as this one (ECDSA
   * signatures differ each time); without, only an identical layer does.
   */
  async attachSignatureLayer(target: DigestRef, layer: SignatureLayer, key?: VerificationKey): Promise<{ changed: boolean; manifestDigest: string }> {
    assertDigest(target.digest);
    const { host, repository, digest } = target;
    let changed = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const existing = await this.manifestIfPresent(target, { tag: signatureTag(digest) });
      const payloads = new Map<string, Buffer>();
      for (const l of existing ? parseSignatureManifest(existing.bytes).layers : []) {
        if (l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
        try {
          payloads.set(l.digest, toBuffer(await this.client.getBlob(host, repository, l.digest)));
        } catch (err) {
          if (!isOciError(err, 'BLOB_UNKNOWN')) throw err;
        }
      }
      const merged = mergeSignatureArtifact(existing?.bytes, layer, { key, payloads });
      if (!merged.changed) return { changed, manifestDigest: merged.artifact.digest };
      await this.pushBlobs(target, merged.artifact);
      await this.client.putManifest({ host, repository, tag: merged.artifact.tag }, merged.artifact.manifest, merged.artifact.mediaType);
      changed = true;
    }
    throw new Error(`could not record signature in ${signatureTag(digest)} on ${host}/${repository}: concurrent updates`);
  }

  /**
   * Attaches a signed bundle (e.g. the promotion attestation) as a referrer of
   * the digest. Unchanged when a referrer already carries the same bundle, or
   * a bundle with the same signed statement (a retried activity re-signing the
   * same statement yields a different signature but the same payload).
   */
  async attachAttestation(
    target: DigestRef,
    bundle: SerializedBundle | Buffer,
    options: BundleReferrerOptions & { keys?: VerificationKey[] } = {},
  ): Promise<{ changed: boolean; manifestDigest: string }> {
    assertDigest(target.digest);
    const bytes = Buffer.isBuffer(bundle) ? bundle : Buffer.from(JSON.stringify(bundle));
    const mine = dssePayload(bytes);
    const found = await this.findSignatures(target);
    for (const b of found.bundles) {
      const same = sha256Digest(b.bundle) === sha256Digest(bytes)
        || (mine.payload !== undefined && dssePayload(b.bundle).payload === mine.payload);
      if (!same) continue;
      if (options.keys?.length && !verifyBundle(b.bundle, { keys: options.keys, expectedDigest: target.digest }).ok) continue;
      return { changed: false, manifestDigest: b.referrer.digest };
    }
    const referrer = buildBundleReferrer(bytes, await this.subjectDescriptor(target), SIGSTORE_BUNDLE_V03, options);
    return { changed: true, manifestDigest: await this.attachReferrer(target, referrer) };
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

  private async pushBlobs(repo: RepositoryRef, artifact: Pick<OciArtifact, 'blobs'>): Promise<void> {
    for (const b of artifact.blobs) await this.putSignatureBlob(repo, b.digest, b.bytes);
  }

  private attachLegacySignature(target: DigestRef, key: SigningKey, options: AttachSignatureOptions) {
    const { host, repository, digest } = target;
    const add = signatureLayer(key, { dockerReference: options.dockerReference ?? `${host}/${repository}`, digest, annotations: options.annotations });
    return this.attachSignatureLayer(target, add, key);
  }

  private async attachReferrer(target: DigestRef, artifact: OciArtifact): Promise<string> {
    await this.pushBlobs(target, artifact);
    return (await this.referrers.push(target, artifact.manifest, artifact.mediaType)).digest;
  }

  private async subjectDescriptor(target: DigestRef) {
    const head = await this.client.headManifest(target);
    if (!head) throw new Error(`${target.host}/${target.repository}@${target.digest} not found`);
    return { digest: target.digest, mediaType: head.mediaType, size: head.size };
  }

  private async attachBundleSignature(target: DigestRef, key: SigningKey, options: AttachSignatureOptions) {
    const found = await this.findSignatures(target);
    for (const b of found.bundles) {
      if (b.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) continue;
      if (verifyBundle(b.bundle, { keys: [key], expectedDigest: target.digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE }).ok) {
        return { changed: false, manifestDigest: b.referrer.digest };
      }
    }
    const bundle = await signImageBundle(key, target.digest, options.annotations);
    const referrer = buildBundleReferrer(bundle, await this.subjectDescriptor(target));
    return { changed: true, manifestDigest: await this.attachReferrer(target, referrer) };
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
