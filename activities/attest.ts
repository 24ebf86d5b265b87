/**
 * Attest: for each digest this run promoted, an in-toto Statement v1 (source, destinations,
 * digest, run, builder, time), DSSE-signed into a sigstore bundle, attached as an OCI 1.1
 * referrer on the primary destination (tag-schema fallback where the registry has no referrers
 * API), copied to every mirror and archived in S3 next to the run report.
 *
 * The S3 archive is written first and reused on retry, so a retried activity attaches the same
 * statement, never a second attestation with a new timestamp.
 */
import { promotionStatement, signDsseBundle, type FoundSignatures, type SigningKey } from '../lib/signing';
import type { ArchivedAttestation } from '../lib/run/documents';
import { attestationKey, phaseResultKey } from '../lib/run/storage-keys';
import type { AfterPromoteArgs, AttestSummary, Failure } from '../lib/run/types';
import { runIds, type ActivityDeps } from './context';
import { forEachImage, type ImageOutcome } from './image-work';
import { imagesInPlace, type InPlaceImage } from './in-place';

export function createAttest(deps: ActivityDeps) {
  return async function attest(args: AfterPromoteArgs): Promise<AttestSummary> {
    const { workflowId, runId } = runIds();
    const key = await deps.trust.workerSigningKey();
    const promoted = (await imagesInPlace(deps, args)).filter((img) => img.destinations.some((d) => d.promotedNow));
    const { counts, failures } = await forEachImage(promoted, (img) => attestImage(deps, key, img, workflowId, runId));
    const summary: AttestSummary = {
      written: counts.written ?? 0,
      alreadyPresent: counts.alreadyPresent ?? 0,
      resultKey: phaseResultKey(workflowId, runId, 'attest'),
      failureCount: failures.length,
    };
    await deps.store.putJson(summary.resultKey, { summary, failures });
    return summary;
  };
}

async function attestImage(deps: ActivityDeps, key: SigningKey, img: InPlaceImage, workflowId: string, runId: string): Promise<ImageOutcome> {
  const { registry } = deps;
  const [primary, ...mirrors] = img.destinations;
  const counts = { written: 0, alreadyPresent: 0 };
  const failures: Failure[] = [];
  if (!primary) return { counts, failures };
  const target = { ...primary.ref, digest: img.digest };
  const where = `${primary.ref.host}/${primary.ref.repository}@${img.digest}`;
  try {
    const archiveKey = attestationKey(workflowId, runId, img.image, img.digest);
    let archived = await deps.store.getJsonIfExists<ArchivedAttestation>(archiveKey);
    if (!archived) {
      const statement = promotionStatement({
        subjectName: `${primary.ref.host}/${primary.ref.repository}`,
        digest: img.digest,
        sourceRef: `${img.source.host}/${img.source.repository}@${img.digest}`,
        destinationRefs: img.destinations.flatMap((d) => [`${d.ref.host}/${d.ref.repository}@${img.digest}`, ...d.tags.map((t) => `${d.ref.host}/${d.ref.repository}:${t}`)]),
        runId: `${workflowId}/${runId}`,
        builderId: deps.config.signing.builderId,
        time: new Date(),
      });
      archived = { statement, bundle: await signDsseBundle(key, statement) };
      await deps.store.putJson(archiveKey, archived);
    }
    const r = await registry.attachAttestation(target, archived.bundle, { keys: [key] });
    if (r.changed) counts.written++;
    else counts.alreadyPresent++;
  } catch (err) {
    failures.push({ edge: where, phase: 'attest', code: (err as { code?: string }).code ?? 'ATTEST_FAILED', error: (err as Error).message });
    return { counts, failures };
  }
  let found: FoundSignatures;
  try {
    found = await registry.findSignatures(target);
  } catch (err) {
    failures.push({ edge: where, phase: 'attest', code: 'ATTEST_FAILED', error: (err as Error).message });
    return { counts, failures };
  }
  await Promise.all(
    mirrors.map(async (m) => {
      const edge = `${m.ref.host}/${m.ref.repository}@${img.digest}`;
      try {
        const c = await registry.copySignatures(target, m.ref, found);
        for (const e of c.errors) failures.push({ edge, phase: 'attest', code: 'COPY_FAILED', error: e });
      } catch (err) {
        failures.push({ edge, phase: 'attest', code: 'COPY_FAILED', error: (err as Error).message });
      }
    }),
  );
  return { counts, failures };
}
