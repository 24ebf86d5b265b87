/**
 * Attest: for each digest this run promoted, an in-toto Statement v1 (source, destinations,
 * digest, run, builder, time), DSSE-signed into a sigstore bundle by the worker's signer, attached
 * as an OCI 1.1 referrer at the primary destination and every mirror (the fallback index where a
 * registry has no referrers API, written once with Sign's entry for the image too) and archived in
 * S3 next to the run report.
 *
 * The S3 archive is written first and reused on retry, so a retried activity attaches the same
 * statement, never a second attestation with a new timestamp.
 */
import type { ArchivedAttestation, ArchivedSignatures, AttestationList } from '../../lib/run/documents';
import { repositoryKey } from '../../lib/oci/reference';
import { shardedName } from '../../lib/run/shard';
import { attestationKey, attestationListKey, phaseResultKey, signatureArchiveKey } from '../../lib/run/storage-keys';
import type { AfterPromoteArgs } from '../../lib/run/input';
import type { AttestSummary, Failure } from '../../lib/run/outcomes';
import { bundleReferrerDescriptor, promotionStatement, type ImageSigner } from '../../lib/signing';
import { mergeSharedDocument } from '../../lib/storage/shared-document';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from '../shared/deps';
import { failureOf } from '../shared/failures';
import type { Heartbeat } from '../shared/heartbeat';
import { earlierResult, writeResult } from '../shared/results';
import { forEachImage, type ImageOutcome } from '../shared/image-work';
import { imagesInPlace } from '../shared/in-place';
import type { InPlaceImage } from '../shared/images';
import { imageSubject } from '../shared/sign-image';
import { writeOnce } from '../shared/write-once';
import type { RepositoryRef } from '../../lib/oci';

export function createAttest(deps: ActivityDeps) {
  return async function attest(hb: Heartbeat, args: AfterPromoteArgs): Promise<AttestSummary> {
    const { workflowId, runId } = runIds();
    const resultKey = phaseResultKey(workflowId, runId, shardedName('attest', args.shard));
    const earlier = await earlierResult<AttestSummary>(deps, resultKey);
    if (earlier) return earlier;
    const signer = await deps.trust.imageSigner();
    const promoted = (await imagesInPlace(deps, args)).filter((img) => img.destinations.some((d) => d.promotedNow));
    const { counts, failures } = await forEachImage(hb, promoted, (img) => attestImage(deps, signer, img, workflowId, runId));
    const summary: AttestSummary = {
      written: counts.written ?? 0,
      alreadyPresent: counts.alreadyPresent ?? 0,
      resultKey,
      failureCount: failures.length,
    };
    deps.log.info({ workflowId, ...(args.shard ? { shard: args.shard } : {}), ...summary }, 'attest done');
    return writeResult(deps, resultKey, { summary, failures });
  };
}

/** The statement for `img`, signed and archived once: a retry gets the very same bundle back. */
async function archivedAttestation(deps: ActivityDeps, signer: ImageSigner, img: InPlaceImage, workflowId: string, runId: string): Promise<{ attestation: ArchivedAttestation; fresh: boolean }> {
  const key = attestationKey(workflowId, runId, img.image, img.digest);
  const existing = await deps.store.getJsonIfExists<ArchivedAttestation>(key);
  if (existing) {
    await listAttestation(deps, img, key); // an earlier attempt may have stopped before listing it
    return { attestation: existing, fresh: false };
  }
  const [primary] = img.destinations;
  const now = new Date();
  const statement = promotionStatement({
    subjectName: repositoryKey(primary!.ref),
    digest: img.digest,
    sourceRef: `${repositoryKey(img.source)}@${img.digest}`,
    destinationRefs: img.destinations.flatMap((d) => [`${repositoryKey(d.ref)}@${img.digest}`, ...d.tags.map((t) => `${repositoryKey(d.ref)}:${t}`)]),
    runId: `${workflowId}/${runId}`,
    builderId: deps.config.signing.builderId,
    time: now,
  });
  const attestation: ArchivedAttestation = { statement, bundle: await signer.signStatement(statement), created: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  const stands = await writeOnce(deps.store, key, attestation);
  if (!stands.ours) return { attestation: stands.value, fresh: false };
  await listAttestation(deps, img, key);
  return { attestation, fresh: true };
}

/** Notes the archive among the image's attestations (the nightly repair reads the list). */
async function listAttestation(deps: ActivityDeps, img: InPlaceImage, key: string): Promise<void> {
  // Runs promoting the same image add to one list: a conditional replace keeps every run's key.
  await mergeSharedDocument<AttestationList>(deps.store, attestationListKey(img.image, img.digest), (list) =>
    list?.keys.includes(key) ? undefined : { keys: [...(list?.keys ?? []), key] });
}

async function attestImage(
  deps: ActivityDeps,
  signer: ImageSigner,
  img: InPlaceImage,
  workflowId: string,
  runId: string,
): Promise<ImageOutcome> {
  const failures: Failure[] = [];
  const primary = img.destinations[0]!.ref;
  const fail = (repo: RepositoryRef, err: unknown) => failures.push(failureOf(`${repositoryKey(repo)}@${img.digest}`, 'attest', err, 'ATTEST_FAILED'));
  let attestation: ArchivedAttestation;
  let fresh: boolean;
  let signatures: ArchivedSignatures | undefined;
  try {
    ({ attestation, fresh } = await archivedAttestation(deps, signer, img, workflowId, runId));
    signatures = await deps.store.getJsonIfExists<ArchivedSignatures>(signatureArchiveKey(img.digest, signer.mark));
  } catch (err) {
    fail(primary, err);
    return { counts: {}, failures };
  }
  const subject = signatures ? imageSubject(signatures) : (await deps.registry.manifestTree({ ...primary, digest: img.digest })).image;
  // Sign left the image's own fallback-index entry to this step: the index gets both at once.
  const signed = signatures?.manifests.find((m) => m.subject.digest === img.digest)?.set.bundle;
  const indexBase = signed ? [bundleReferrerDescriptor(signed.bundle, subject, signed.created)] : [];
  const created = attestation.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await mapPool(img.destinations, img.destinations.length, async (d) => {
    try {
      await deps.registry.writeSignatures(d.ref, { subject, attestations: [{ bundle: attestation.bundle, created }], indexBase });
    } catch (err) {
      fail(d.ref, err);
    }
  });
  return { counts: fresh ? { written: 1 } : { alreadyPresent: 1 }, failures };
}
