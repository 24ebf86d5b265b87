// Per digest of a snapshot: is the promoter's signature there and does it verify, and its
// promotion attestation? Read and verified with lib/signing, against the promoter's public key or
// its keyless identity (the caller's trust: nothing is taken from the registry).
import { COSIGN_SIGN_PREDICATE_TYPE, PROMOTION_PREDICATE_TYPE, verifyBundle, type KeylessTrust, type SignatureStore, type VerificationKey } from '../signing';
import type { DigestRef } from '../oci';
import { mapPool } from '../util/pool';
import { splitRegistry, type Snapshot, type SnapshotImage } from './read';

/** verified: present and valid; unverified: present, but not by this key or identity (or damaged); missing: none. */
type EvidenceStatus = 'verified' | 'unverified' | 'missing';

export interface DigestEvidence {
  signature: EvidenceStatus;
  /** The formats that carried a valid signature (legacy `.sig`, sigstore bundle). */
  signatureFormats: ('legacy' | 'bundle')[];
  attestation: EvidenceStatus;
}

export interface EvidenceTrust {
  keys: VerificationKey[];
  keyless?: KeylessTrust;
}

export interface SnapshotWithEvidence extends Snapshot {
  images: (SnapshotImage & { evidence: Record<string, DigestEvidence> })[];
}

/** The snapshot with every digest's evidence: a few requests per digest, `concurrency` digests at once. */
export async function withEvidence(store: SignatureStore, snapshot: Snapshot, trust: EvidenceTrust, concurrency = 8): Promise<SnapshotWithEvidence> {
  const { host, prefix } = splitRegistry(snapshot.registry);
  const work = snapshot.images.flatMap((img) => Object.keys(img.dmap).map((digest) => ({ img, digest })));
  const found = await mapPool(work, concurrency, ({ img, digest }) =>
    digestEvidence(store, { host, repository: prefix ? `${prefix}/${img.name}` : img.name, digest }, trust),
  );
  const byImage = new Map<SnapshotImage, Record<string, DigestEvidence>>();
  work.forEach(({ img, digest }, i) => {
    const e = byImage.get(img) ?? {};
    e[digest] = found[i]!;
    byImage.set(img, e);
  });
  return { ...snapshot, images: snapshot.images.map((img) => ({ ...img, evidence: byImage.get(img) ?? {} })) };
}

async function digestEvidence(store: SignatureStore, target: DigestRef, trust: EvidenceTrust): Promise<DigestEvidence> {
  const found = await store.findSignatures(target);
  const verification = await store.verifyImageSignatures(target, trust, found);
  const signed = !!found.signature || found.bundles.some((b) => b.predicateType === undefined || b.predicateType === COSIGN_SIGN_PREDICATE_TYPE);
  const attestations = found.bundles.filter((b) => b.predicateType === PROMOTION_PREDICATE_TYPE);
  const attested = attestations.some((b) => verifyBundle(b.bundle, { ...trust, expectedDigest: target.digest, predicateType: PROMOTION_PREDICATE_TYPE }).ok);
  return {
    signature: verification.valid ? 'verified' : signed ? 'unverified' : 'missing',
    signatureFormats: verification.formats,
    attestation: attested ? 'verified' : attestations.length > 0 ? 'unverified' : 'missing',
  };
}
