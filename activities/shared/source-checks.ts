/**
 * What Provenance and Validate check of one source digest under a project's policy. Shared with
 * the nightly re-mirroring, which checks the same before it signs an image never signed before:
 * the promoter signs nothing that no policy passed.
 */
import type { Project, ProvenancePolicy, SignaturePolicy } from '../../lib/manifests';
import type { DigestRef, RepositoryRef } from '../../lib/oci/reference';
import type { Failure } from '../../lib/run/outcomes';
import { COSIGN_SIGN_PREDICATE_TYPE } from '../../lib/signing';
import { runIds, type ActivityDeps } from './deps';
import { judge, sharedChecks, type Checker, type CheckResult, type VerificationSpec } from './verification';

/**
 * SLSA provenance v1 against the project's `provenance:` policy (builders, sources, keys or identities).
 * An index with none of its own is judged by its children's: buildx and cosign attest each platform
 * image, so it passes when every child's passes, fails when one child's fails, and is missing when
 * one child has none.
 */
export const PROVENANCE_CHECK: VerificationSpec<ProvenancePolicy> = {
  phase: 'provenance',
  policyOf: (p) => p.provenance,
  async check(deps, source, digest, policy) {
    const own = await provenanceOf(deps, source, digest, policy);
    if (own.status !== 'missing') return own;
    const { children } = await deps.registry.manifestTree({ ...source, digest });
    if (children.length === 0) return own;
    const inputs: string[] = [];
    let missing = false;
    // All children at once (one round trip, not one per platform); judged in order, the first failure decides.
    const results = await Promise.all(children.map((child) => provenanceOf(deps, source, child.digest, policy)));
    for (const [i, r] of results.entries()) {
      const child = children[i]!;
      if (r.status === 'failed') return { status: 'failed', reason: `index child ${child.digest}: ${r.reason}` };
      if (r.status === 'missing') missing = true;
      else inputs.push(...(r.inputs ?? []));
    }
    return missing ? { status: 'missing' } : { status: 'passed', detail: `each of ${children.length} index children`, inputs };
  },
};

async function provenanceOf(deps: ActivityDeps, source: RepositoryRef, digest: string, policy: ProvenancePolicy): Promise<CheckResult> {
  const target = { ...source, digest };
  const found = await evidenceOf(deps, target);
  const candidates = await deps.registry.findProvenance(target, found);
  if (candidates.length === 0) return { status: 'missing' };
  const trust = await deps.trust.forPolicy(policy);
  if (trust.keys.length === 0 && !trust.keyless)
    return { status: 'failed', reason: 'provenance found, but the policy names no keys or identities to verify it with' };
  const v = await deps.registry.verifyProvenance(target, { ...trust, builders: policy.builders, sources: policy.sources }, found);
  return v.ok ? { status: 'passed', detail: v.source, inputs: v.manifest ? [v.manifest] : [] } : { status: 'failed', reason: v.reason };
}

/** Source signatures (`.sig` or bundle referrers; a provenance attestation is not one) against the project's `signatures:` policy. */
export const SIGNATURE_CHECK: VerificationSpec<SignaturePolicy> = {
  phase: 'validate',
  policyOf: (p) => p.signatures,
  async check(deps, source, digest, policy) {
    const target = { ...source, digest };
    const found = await evidenceOf(deps, target);
    const signatureBundles = found.bundles.filter((b) => b.predicateType === undefined || b.predicateType === COSIGN_SIGN_PREDICATE_TYPE);
    if (!found.signature && signatureBundles.length === 0) return { status: 'missing' };
    const trust = await deps.trust.forPolicy(policy);
    if (trust.keys.length === 0 && !trust.keyless) return { status: 'failed', reason: 'signed, but the policy names no keys or identities to verify with' };
    const v = await deps.registry.verifySignatures(target, trust, found);
    return v.valid
      ? { status: 'passed', detail: v.formats.join('+'), inputs: v.verified }
      : { status: 'failed', reason: v.errors.join('; ') || 'no valid signature' };
  },
};

/** The digest's evidence as this run first read it (./source-evidence.ts). */
function evidenceOf(deps: ActivityDeps, target: DigestRef) {
  const { workflowId, runId } = runIds();
  return deps.evidence.of(`${workflowId}/${runId}`, target);
}

/** A project that lists a digest, and the source repository it lists it from. */
export interface Naming {
  project: Project;
  source: RepositoryRef;
}

/**
 * Why the policies of the projects naming `digest` keep it from being signed (both checks, as the
 * phases judge them); empty: it may be. Every project naming it must be satisfied, as in
 * Provenance and Validate: one project's `off` does not sign what another's `require` refuses.
 */
export async function policyFailures(deps: ActivityDeps, naming: Naming[], digest: string, check: Checker = sharedChecks(deps)): Promise<Failure[]> {
  const one = async <P extends { mode: string }>(spec: VerificationSpec<P>, n: Naming): Promise<Failure[]> => {
    const policy = spec.policyOf(n.project);
    if (policy.mode === 'off') return [];
    const j = await judge(deps, spec, { source: n.source, digest, policy, project: n.project.name }, check);
    return j.blocks ? [j.failure!] : [];
  };
  const out: Failure[] = [];
  for (const n of naming) out.push(...(await one(PROVENANCE_CHECK, n)), ...(await one(SIGNATURE_CHECK, n)));
  return out;
}
