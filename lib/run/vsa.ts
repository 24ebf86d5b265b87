/**
 * The SLSA Verification Summary (predicate `https://slsa.dev/verification_summary/v1`) the promoter
 * writes for each digest it promotes: what Provenance and Validate decided of its source, under
 * which policy, from which attestations and signatures. A consumer who trusts the promoter's
 * signature can rely on the summary without re-checking the staging evidence itself.
 *
 * Levels (SLSA build track; signatures have no SLSA level, they show in the policy and the inputs):
 *   provenance verified, the policy names allowed builders   SLSA_BUILD_LEVEL_2 (signed provenance of a builder the reviewers approved)
 *   provenance verified, any builder allowed                  SLSA_BUILD_LEVEL_1 (provenance exists; nothing says the builder is a hosted one)
 *   provenance missing, invalid or not checked, mode allows   SLSA_BUILD_LEVEL_0
 *   the policy refused the digest                             FAILED (the promoter writes none of these: a blocked digest is not promoted)
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type ProvenancePolicy, type SignaturePolicy } from '../manifests/bundle';
import { assertDigest, inTotoStatement, VSA_PREDICATE_TYPE, type ResourceDescriptor, type Statement } from '../signing';

export type CheckStatus = 'passed' | 'missing' | 'failed';

/** What Provenance or Validate found for one source digest, as its result document keeps it. */
export interface CheckRecord {
  /** The project whose policy judged it (the first to name the source digest). */
  project: string;
  status: CheckStatus;
  /** Digests of the manifests in the source repository whose provenance or signature verified. */
  inputs?: string[];
  /** When it was checked (ISO 8601). */
  at: string;
}

export interface VerificationSummaryPredicate {
  verifier: { id: string };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string; digest: { sha256: string } };
  inputAttestations: ResourceDescriptor[];
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
  slsaVersion: string;
}

export interface VsaInput {
  /** The subject's name: the primary destination repository (`host/repo`), as the promotion attestation names it. */
  subjectName: string;
  digest: string;
  /** The destination reference the summary is about (`host/repo@sha256:…`). */
  resourceUri: string;
  /** The promoter's builder id (the promotion attestation's `builder.id`). */
  verifierId: string;
  /** Where the policy can be read, and the policy itself (its canonical JSON is digested). */
  policy: { uri: string; provenance: ProvenancePolicy; signatures: SignaturePolicy };
  /** The source repository (`host/repo`) the inputs live in. */
  sourceRepository: string;
  /** What Provenance found; absent: not checked (mode off). */
  provenance?: CheckRecord;
  /** What Validate found; absent: not checked (mode off). */
  signatures?: CheckRecord;
  /** timeVerified when neither was checked. */
  time: Date;
}

/** The policy document a summary names: both verification blocks of the project, as the bundle holds them. */
function policyDocument(provenance: ProvenancePolicy, signatures: SignaturePolicy): { provenance: ProvenancePolicy; signatures: SignaturePolicy } {
  return { provenance, signatures };
}

/** sha256 of the policy's canonical JSON: the same policy always has the same digest, key order aside. */
export function policyDigest(provenance: ProvenancePolicy, signatures: SignaturePolicy): string {
  return createHash('sha256')
    .update(canonicalJson(policyDocument(provenance, signatures)))
    .digest('hex');
}

/** Whether the policy lets the digest through with this result (the table in activities/shared/verification.ts). */
export function policyPasses(mode: string, status: CheckStatus | undefined): boolean {
  if (status === undefined || status === 'passed' || mode === 'off' || mode === 'warn') return true;
  return mode === 'if-present' && status === 'missing';
}

/** The highest SLSA build level verified, or FAILED when the policy refused the digest. */
function verifiedLevels(input: Pick<VsaInput, 'policy' | 'provenance' | 'signatures'>): string[] {
  if (!passes(input)) return ['FAILED'];
  if (input.provenance?.status !== 'passed') return ['SLSA_BUILD_LEVEL_0'];
  return [input.policy.provenance.builders.length > 0 ? 'SLSA_BUILD_LEVEL_2' : 'SLSA_BUILD_LEVEL_1'];
}

function passes(input: Pick<VsaInput, 'policy' | 'provenance' | 'signatures'>): boolean {
  return policyPasses(input.policy.provenance.mode, input.provenance?.status) && policyPasses(input.policy.signatures.mode, input.signatures?.status);
}

export function verificationSummaryStatement(input: VsaInput): Statement<VerificationSummaryPredicate> {
  assertDigest(input.digest);
  const times = [input.provenance?.at, input.signatures?.at].filter((t): t is string => !!t).map((t) => new Date(t));
  if (times.some((t) => Number.isNaN(t.getTime())) || Number.isNaN(input.time.getTime())) throw new Error('verificationSummaryStatement: invalid time');
  // Verified once both checks were done: the later of the two.
  const timeVerified = times.length > 0 ? new Date(Math.max(...times.map((t) => t.getTime()))) : input.time;
  const inputs = [...new Set([...(input.provenance?.inputs ?? []), ...(input.signatures?.inputs ?? [])])];
  for (const d of inputs) assertDigest(d);
  return inTotoStatement([{ name: input.subjectName, digest: { sha256: input.digest.slice('sha256:'.length) } }], VSA_PREDICATE_TYPE, {
    verifier: { id: input.verifierId },
    timeVerified: timeVerified.toISOString(),
    resourceUri: input.resourceUri,
    policy: { uri: input.policy.uri, digest: { sha256: policyDigest(input.policy.provenance, input.policy.signatures) } },
    inputAttestations: inputs.map((d) => ({ uri: `${input.sourceRepository}@${d}`, digest: { sha256: d.slice('sha256:'.length) } })),
    verificationResult: passes(input) ? 'PASSED' : 'FAILED',
    verifiedLevels: verifiedLevels(input),
    slsaVersion: '1.0',
  });
}
