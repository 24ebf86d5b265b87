/** Where each run's documents live in the audit bucket. One place, so nobody invents a second layout. */
import { createHash } from 'node:crypto';
import { digestTag } from '../oci/reference';
export const bundleKey = (bundleSha256: string): string => `inputs/${bundleSha256}.json`;
/** The bundle hash a bundle key names (the inverse of bundleKey); undefined for any other key. */
export const bundleShaOfKey = (key: string): string | undefined => /^inputs\/([0-9a-f]{64})\.json$/.exec(key)?.[1];
const runPrefix = (workflowId: string, runId: string): string => `runs/${workflowId}/${runId}`;
export const planKey = (wf: string, run: string): string => `${runPrefix(wf, run)}/plan.json`;
/** What Plan has read so far, chunk by chunk: a retried Plan resumes from them. */
export const planInventoryChunkKey = (wf: string, run: string, n: number): string => `${runPrefix(wf, run)}/plan-inventory/${String(n).padStart(6, '0')}.json`;
export const phaseResultKey = (wf: string, run: string, phase: string): string => `${runPrefix(wf, run)}/${phase}.json`;
export const promoteBatchKey = (wf: string, run: string, batch: number): string => `${runPrefix(wf, run)}/promote/batch-${String(batch).padStart(6, '0')}.json`;
export const attestationKey = (wf: string, run: string, image: string, digest: string): string =>
  `${runPrefix(wf, run)}/attestations/${image}/${digestTag(digest)}.json`;
/** A verification summary (SLSA VSA) as archived before it is attached, beside the promotion attestation. */
export const verificationSummaryKey = (wf: string, run: string, image: string, digest: string): string =>
  `${runPrefix(wf, run)}/verification-summaries/${image}/${digestTag(digest)}.json`;
export const reportKey = (wf: string, run: string): string => `${runPrefix(wf, run)}/report.json`;
/** Every failure of a run with more than the report itself lists, part by part. */
export const reportFailuresKey = (wf: string, run: string, n: number): string => `${runPrefix(wf, run)}/report-failures/${String(n).padStart(6, '0')}.json`;
/** What the promoter last verified a destination repository's tags to point at. */
export const tagRecordKey = (host: string, repository: string): string => `inventory/${host}/${repository}/tags.json`;
/** Pointer to the bundle of the last confirmed promotion: what the nightly re-mirroring checks. */
export const LATEST_BUNDLE_KEY = 'state/latest-promoted-bundle.json';
export const mirrorReportKey = (wf: string, run: string): string => `mirror/${wf}/${run}/report.json`;
/** The audit's reports: one per scheduled run, one per batch of pushes that flagged something. */
export const auditReportKey = (wf: string, run: string): string => `audits/${wf}/${run}/report.json`;
export const auditEventsReportKey = (wf: string, run: string, batch: number): string => `audits/${wf}/${run}/events-${String(batch).padStart(6, '0')}.json`;
/**
 * What the promoter signed for an image (its manifests, children first) with one signer: written
 * once, before any of it is attached, and attached from here everywhere, by every later run too.
 */
export const signatureArchiveKey = (imageDigest: string, mark: string): string =>
  `signatures/${digestTag(imageDigest)}/${createHash('sha256').update(mark).digest('hex').slice(0, 24)}.json`;
/**
 * The promotion attestations and verification summaries made for an image (their archive keys): the nightly repair puts them
 * back too. One list per image name and digest, so that only one activity ever writes it (a digest
 * promoted under two names is attested by both, maybe at once).
 */
export const attestationListKey = (image: string, imageDigest: string): string => `state/attestations/${image}/${digestTag(imageDigest)}.json`;
/** Where lists were kept per digest alone, before: still read. */
export const legacyAttestationListKey = (imageDigest: string): string => `state/attestations/${digestTag(imageDigest)}.json`;
