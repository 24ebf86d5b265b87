/**
 * Signing one image where it is in place, shared by Sign, Attest and the nightly re-mirroring.
 *
 * An image is signed once per signer (key or keyless identity): its manifests (an index's children
 * first, the index last) are signed, the signatures archived in the audit bucket, and only then
 * written to the destinations that lack them: the primary and every mirror get the same bytes,
 * merged into whatever the tags they share with other writers hold then (nothing is copied from the primary), and a retried or resumed activity, or
 * a later run, writes the archived signatures again instead of signing anew.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { ArchivedAttestation, ArchivedSignatures, AttestationList, SignedSubject } from '../../lib/run/documents';
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import { attestationListKey, legacyAttestationListKey, signatureArchiveKey } from '../../lib/run/storage-keys';
import type { Failure } from '../../lib/run/outcomes';
import type { ImageSigner } from '../../lib/signing';
import { mapPool } from '../../lib/util/pool';
import type { ActivityDeps } from './deps';
import { failureOf } from './failures';
import type { ImageOutcome } from './image-work';
import type { InPlaceImage } from './images';
import { updateTagRecords } from './tag-records';
import { writeOnce } from './write-once';

/**
 * The image's archived signatures by `signer`, made (and archived) now when there are none yet.
 * Two workers racing: the first archive written wins and both write its bytes.
 */
export async function signaturesFor(deps: ActivityDeps, signer: ImageSigner, img: InPlaceImage): Promise<{ archived: ArchivedSignatures; fresh: boolean }> {
  const key = signatureArchiveKey(img.digest, signer.mark);
  const existing = await deps.store.getJsonIfExists<ArchivedSignatures>(key);
  if (existing) return { archived: existing, fresh: false };
  const primary = img.destinations[0]!.ref;
  const tree = await deps.registry.manifestTree({ ...primary, digest: img.digest });
  // cosign names the repository (no tag, no digest) in the payload; mirrors get these same bytes.
  const dockerReference = `${primary.host}/${primary.repository}`;
  const manifests: ArchivedSignatures['manifests'] = [];
  for (const subject of [...tree.children, tree.image]) manifests.push({ subject, set: await signer.signImage({ dockerReference, digest: subject.digest }) });
  const archived: ArchivedSignatures = { image: img.digest, mark: signer.mark, manifests };
  const stands = await writeOnce(deps.store, key, archived);
  return { archived: stands.value, fresh: stands.ours };
}

/** The image manifest an archive names last: the subject its attestations refer to. */
export const imageSubject = (archived: ArchivedSignatures): SignedSubject => archived.manifests[archived.manifests.length - 1]!.subject;

/**
 * Writes archived signatures to the image's destinations `targets` (indices into img.destinations),
 * all at once, each manifest after its children. `deferImageIndex`: the image's own fallback-index
 * entry is left to Attest, which writes that index once with the attestation too.
 * Counts per image: signed (the primary was written), manifestsSigned (manifests written there),
 * mirrored (mirrors written).
 */
export async function writeSignatures(
  deps: ActivityDeps,
  img: InPlaceImage,
  archived: ArchivedSignatures,
  targets: number[],
  opts: { deferImageIndex: boolean; phase: 'sign' | 'mirror'; imageAttestations?: { bundle: SerializedBundle; created: string }[] },
): Promise<ImageOutcome> {
  const failures: Failure[] = [];
  const written = await mapPool(targets, targets.length, async (d) => {
    const dest = img.destinations[d]!.ref;
    for (const m of archived.manifests) {
      try {
        const image = m.subject.digest === img.digest;
        await deps.registry.writeSignatures(dest, {
          subject: m.subject,
          set: m.set,
          deferIndex: opts.deferImageIndex && image,
          ...(image && opts.imageAttestations?.length ? { attestations: opts.imageAttestations } : {}),
        });
      } catch (err) {
        failures.push(failureOf(`${repositoryKey(dest)}@${m.subject.digest}`, 'sign', err, 'SIGN_FAILED'));
        return false; // the index is not signed there without its children
      }
    }
    return true;
  });
  const signedAt = targets.filter((_, i) => written[i]);
  const primaryWritten = signedAt.includes(0);
  return {
    counts: {
      signed: primaryWritten ? 1 : 0,
      alreadySigned: targets.includes(0) ? 0 : 1,
      manifestsSigned: primaryWritten ? archived.manifests.length : 0,
      mirrored: signedAt.filter((d) => d !== 0).length,
    },
    failures: failures.map((f) => ({ ...f, phase: opts.phase === 'mirror' ? 'sign' : f.phase })),
    signedAt,
  };
}

/** Note in each repository's tag record which digests now carry the signer's signatures. */
export async function recordSigned(deps: ActivityDeps, signed: { repo: RepositoryRef; digest: string }[], mark: string): Promise<void> {
  await updateTagRecords(
    deps.store,
    signed.map((s) => ({ ref: s.repo, signed: { [s.digest]: mark } })),
  );
}

/** The promotion attestations and verification summaries archived for an image, as the writer attaches them, with their archive keys. */
export async function archivedAttestations(
  deps: ActivityDeps,
  image: string,
  digest: string,
): Promise<{ key: string; bundle: SerializedBundle; created: string }[]> {
  const lists = await Promise.all(
    [attestationListKey(image, digest), legacyAttestationListKey(digest)].map((k) => deps.store.getJsonIfExists<AttestationList>(k)),
  );
  const keys = new Set(lists.flatMap((l) => l?.keys ?? []));
  const out: { key: string; bundle: SerializedBundle; created: string }[] = [];
  for (const key of keys) {
    const a = await deps.store.getJsonIfExists<ArchivedAttestation>(key);
    if (a?.created) out.push({ key, bundle: a.bundle, created: a.created });
  }
  return out;
}
