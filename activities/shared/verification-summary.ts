/**
 * The verification summary (SLSA VSA, lib/run/vsa.ts) of an image Attest attests: built from what
 * this run's Provenance and Validate recorded for its source digest, under the policy of the
 * project that judged it. Attest signs, archives and attaches it like the promotion attestation,
 * and lists it with it, so the nightly re-mirroring puts it back wherever it is missing.
 */
import type { ManifestBundle } from '../../lib/manifests';
import type { VerificationDocument } from '../../lib/run/documents';
import { repositoryKey } from '../../lib/oci/reference';
import { phaseResultKey } from '../../lib/run/storage-keys';
import { verificationSummaryStatement, type VerificationSummaryPredicate } from '../../lib/run/vsa';
import type { Statement } from '../../lib/signing';
import type { ActivityDeps } from './deps';
import type { InPlaceImage } from './images';

/** What the summaries of one run are made from: its bundle and both verification documents. */
export interface SummaryFacts {
  bundle: ManifestBundle;
  bundleKey: string;
  provenance: VerificationDocument;
  validate: VerificationDocument;
  /** Source digests either phase blocked. */
  blocked: ReadonlySet<string>;
}

/**
 * The facts of the run, or undefined when a verification document predates summaries (it kept no
 * record of the evidence): a summary must name what was checked, so none is written then.
 */
export async function summaryFacts(
  deps: ActivityDeps,
  bundle: ManifestBundle,
  bundleKey: string,
  workflowId: string,
  runId: string,
): Promise<SummaryFacts | undefined> {
  const [provenance, validate] = await deps.documents.verificationDocuments([
    phaseResultKey(workflowId, runId, 'provenance'),
    phaseResultKey(workflowId, runId, 'validate'),
  ]);
  if (!provenance?.records || !validate?.records) return undefined;
  return { bundle, bundleKey, provenance, validate, blocked: new Set([...provenance.blockedDigests, ...validate.blockedDigests]) };
}

/** The summary statement of `img` (unsigned), or undefined for a digest its policy blocked (it gets none). */
export function summaryStatement(deps: ActivityDeps, facts: SummaryFacts, img: InPlaceImage, now: Date): Statement<VerificationSummaryPredicate> | undefined {
  if (facts.blocked.has(img.digest)) return undefined;
  const sourceKey = `${repositoryKey(img.source)}@${img.digest}`;
  const provenance = facts.provenance.records![sourceKey];
  const signatures = facts.validate.records![sourceKey];
  // The policy applied is that of the project that judged the source digest (the first naming it).
  const name = provenance?.project ?? signatures?.project ?? img.project;
  const project = facts.bundle.projects.find((p) => p.name === name);
  if (!project) throw new Error(`verification summary: project ${name} is not in the bundle`);
  const primary = img.destinations[0]!.ref;
  const statement = verificationSummaryStatement({
    subjectName: repositoryKey(primary),
    digest: img.digest,
    resourceUri: `${repositoryKey(primary)}@${img.digest}`,
    verifierId: deps.config.signing.builderId,
    // The reviewed manifests as archived write-once; the fragment names the project's manifest file.
    policy: { uri: `s3://${deps.store.bucket}/${facts.bundleKey}#${project.file}`, provenance: project.provenance, signatures: project.signatures },
    sourceRepository: repositoryKey(img.source),
    ...(provenance ? { provenance } : {}),
    ...(signatures ? { signatures } : {}),
    time: now,
  });
  // Defence in depth: a summary that says FAILED is never attached (the digest was not promoted).
  return statement.predicate.verificationResult === 'PASSED' ? statement : undefined;
}
