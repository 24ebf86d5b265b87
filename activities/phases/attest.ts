/**
 * Attest: for each digest this run promoted, an in-toto Statement v1 (source, destinations,
 * digest, run, builder, time), DSSE-signed into a sigstore bundle by the worker's signer, attached
 * as an OCI 1.1 referrer at the primary destination and every mirror (the fallback index where a
 * registry has no referrers API, written once with Sign's entry for the image too) and archived in
 * S3 next to the run report. Beside it goes the digest's SLSA verification summary (what
 * Provenance and Validate decided, ../shared/verification-summary.ts), signed, archived and
 * attached the same way, in the same write; a digest its policy blocked gets none.
 *
 * The S3 archive is written first and reused on retry, so a retried activity attaches the same
 * statements, never a second attestation with a new timestamp.
 */
import type { ArchivedAttestation, ArchivedSignatures, AttestationList } from '../../lib/run/documents';
import { repositoryKey } from '../../lib/oci/reference';
import { shardedName } from '../../lib/run/shard';
import { attestationId } from '../../lib/run/tag-record';
import { attestationKey, attestationListKey, phaseResultKey, signatureArchiveKey, verificationSummaryKey } from '../../lib/run/storage-keys';
import type { AfterPromoteArgs } from '../../lib/run/input';
import type { AttestSummary, Failure } from '../../lib/run/outcomes';
import { bundleReferrerDescriptor, promotionStatement, type ImageSigner, type Statement } from '../../lib/signing';
import { mergeSharedDocument } from '../../lib/storage/shared-document';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from '../shared/deps';
import { loadBundle } from '../shared/documents';
import { summaryFacts, summaryStatement, type SummaryFacts } from '../shared/verification-summary';
import { failureOf } from '../shared/failures';
import type { Heartbeat } from '../shared/heartbeat';
import { earlierResult, writeResult } from '../shared/results';
import { forEachImage, type ImageOutcome } from '../shared/image-work';
import { imagesInPlace } from '../shared/in-place';
import type { InPlaceImage } from '../shared/images';
import { imageSubject } from '../shared/sign-image';
import { updateTagRecords } from '../shared/tag-records';
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
    const facts = promoted.length > 0 ? await summaryFacts(deps, await loadBundle(deps.store, args.input), args.input.bundleKey, workflowId, runId) : undefined;
    if (promoted.length > 0 && !facts) deps.log.warn({ workflowId }, 'the verification results of this run predate verification summaries: none written');
    const { counts, failures, signed: attested } = await forEachImage(hb, promoted, (img) => attestImage(deps, signer, img, facts, workflowId, runId));
    // Which of the promoter's attestations each destination now holds: the nightly repair compares them.
    await updateTagRecords(
      deps.store,
      attested.map((a) => ({ ref: a.repo, attested: { [a.digest]: statementIds(deps, workflowId, runId, promoted, a, facts) } })),
    );
    const summary: AttestSummary = {
      written: counts.written ?? 0,
      alreadyPresent: counts.alreadyPresent ?? 0,
      vsaWritten: counts.vsaWritten ?? 0,
      vsaAlreadyPresent: counts.vsaAlreadyPresent ?? 0,
      resultKey,
      failureCount: failures.length,
    };
    deps.log.info({ workflowId, ...(args.shard ? { shard: args.shard } : {}), ...summary }, 'attest done');
    return writeResult(deps, resultKey, { summary, failures });
  };
}

/** A statement for `img`, signed and archived once at `key`: a retry gets the very same bundle back. */
async function archivedStatement(
  deps: ActivityDeps,
  signer: ImageSigner,
  img: InPlaceImage,
  key: string,
  make: (now: Date) => Statement<unknown>,
): Promise<{ attestation: ArchivedAttestation; fresh: boolean }> {
  const existing = await deps.store.getJsonIfExists<ArchivedAttestation>(key);
  if (existing) {
    await listAttestation(deps, img, key); // an earlier attempt may have stopped before listing it
    return { attestation: existing, fresh: false };
  }
  const now = new Date();
  const statement = make(now);
  const attestation: ArchivedAttestation = { statement, bundle: await signer.signStatement(statement), created: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  const stands = await writeOnce(deps.store, key, attestation);
  if (!stands.ours) return { attestation: stands.value, fresh: false };
  await listAttestation(deps, img, key);
  return { attestation, fresh: true };
}

/** The promotion statement of `img`: source, destinations, digest, run, builder, time. */
function promotionOf(deps: ActivityDeps, img: InPlaceImage, workflowId: string, runId: string) {
  return (now: Date) => {
    const [primary] = img.destinations;
    return promotionStatement({
      subjectName: repositoryKey(primary!.ref),
      digest: img.digest,
      sourceRef: `${repositoryKey(img.source)}@${img.digest}`,
      destinationRefs: img.destinations.flatMap((d) => [`${repositoryKey(d.ref)}@${img.digest}`, ...d.tags.map((t) => `${repositoryKey(d.ref)}:${t}`)]),
      runId: `${workflowId}/${runId}`,
      builderId: deps.config.signing.builderId,
      time: now,
    });
  };
}

/** The record ids of the statements Attest wrote at `at` (the summary only where the image has one). */
function statementIds(
  deps: ActivityDeps,
  workflowId: string,
  runId: string,
  images: InPlaceImage[],
  at: { repo: RepositoryRef; digest: string },
  facts: SummaryFacts | undefined,
): string[] {
  const img = images.find((i) => i.digest === at.digest && i.destinations.some((d) => repositoryKey(d.ref) === repositoryKey(at.repo)))!;
  const ids = [attestationId(attestationKey(workflowId, runId, img.image, img.digest))];
  if (facts && summaryStatement(deps, facts, img, new Date())) ids.push(attestationId(verificationSummaryKey(workflowId, runId, img.image, img.digest)));
  return ids;
}

/** Notes the archive among the image's attestations (the nightly repair reads the list). */
async function listAttestation(deps: ActivityDeps, img: InPlaceImage, key: string): Promise<void> {
  // Runs promoting the same image add to one list: a conditional replace keeps every run's key.
  await mergeSharedDocument<AttestationList>(deps.store, attestationListKey(img.image, img.digest), (list) =>
    list?.keys.includes(key) ? undefined : { keys: [...(list?.keys ?? []), key] },
  );
}

async function attestImage(
  deps: ActivityDeps,
  signer: ImageSigner,
  img: InPlaceImage,
  facts: SummaryFacts | undefined,
  workflowId: string,
  runId: string,
): Promise<ImageOutcome> {
  const failures: Failure[] = [];
  const primary = img.destinations[0]!.ref;
  const fail = (repo: RepositoryRef, err: unknown) => failures.push(failureOf(`${repositoryKey(repo)}@${img.digest}`, 'attest', err, 'ATTEST_FAILED'));
  let attestation: ArchivedAttestation;
  let fresh: boolean;
  let vsa: { attestation: ArchivedAttestation; fresh: boolean } | undefined;
  let signatures: ArchivedSignatures | undefined;
  try {
    ({ attestation, fresh } = await archivedStatement(
      deps,
      signer,
      img,
      attestationKey(workflowId, runId, img.image, img.digest),
      promotionOf(deps, img, workflowId, runId),
    ));
    const vsaStatement = facts && summaryStatement(deps, facts, img, new Date());
    if (vsaStatement) vsa = await archivedStatement(deps, signer, img, verificationSummaryKey(workflowId, runId, img.image, img.digest), () => vsaStatement);
    signatures = await deps.store.getJsonIfExists<ArchivedSignatures>(signatureArchiveKey(img.digest, signer.mark));
  } catch (err) {
    fail(primary, err);
    return { counts: {}, failures };
  }
  const subject = signatures ? imageSubject(signatures) : (await deps.registry.manifestTree({ ...primary, digest: img.digest })).image;
  // Sign left the image's own fallback-index entry to this step: the index gets both at once.
  const signed = signatures?.manifests.find((m) => m.subject.digest === img.digest)?.set.bundle;
  const indexBase = signed ? [bundleReferrerDescriptor(signed.bundle, subject, signed.created)] : [];
  const stamp = (a: ArchivedAttestation) => ({ bundle: a.bundle, created: a.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
  // Both statements in one write per destination: where there is no referrers API, the fallback index is written once.
  const attestations = [stamp(attestation), ...(vsa ? [stamp(vsa.attestation)] : [])];
  const written = await mapPool(img.destinations, img.destinations.length, async (d) => {
    try {
      await deps.registry.writeSignatures(d.ref, { subject, attestations, indexBase });
      return true;
    } catch (err) {
      fail(d.ref, err);
      return false;
    }
  });
  const counts: Record<string, number> = fresh ? { written: 1 } : { alreadyPresent: 1 };
  if (vsa) counts[vsa.fresh ? 'vsaWritten' : 'vsaAlreadyPresent'] = 1;
  // (The loop's "signedAt": here, where the attestations were written.)
  return { counts, failures, signedAt: img.destinations.flatMap((_, i) => (written[i] ? [i] : [])) };
}
