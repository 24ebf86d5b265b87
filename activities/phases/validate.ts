/** Validate: verify the signatures of each distinct source digest against the project's `signatures:` policy. */
import { COSIGN_SIGN_PREDICATE_TYPE } from '../../lib/signing';
import type { PlanRef } from '../../lib/run/input';
import type { VerificationSummary } from '../../lib/run/outcomes';
import type { ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { runVerification } from '../shared/verification';

export function createValidate(deps: ActivityDeps) {
  return async function validate(hb: Heartbeat, args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, hb, args, {
      phase: 'validate',
      policyOf: (p) => p.signatures,
      async check(deps, source, digest, policy) {
        const target = { ...source, digest };
        const found = await deps.registry.findSignatures(target);
        const signatureBundles = found.bundles.filter((b) => b.predicateType === undefined || b.predicateType === COSIGN_SIGN_PREDICATE_TYPE);
        if (!found.signature && signatureBundles.length === 0) return { status: 'missing' };
        const trust = await deps.trust.forPolicy(policy);
        if (trust.keys.length === 0 && !trust.keyless) return { status: 'failed', reason: 'signed, but the policy names no keys or identities to verify with' };
        const v = await deps.registry.verifySignatures(target, trust, found);
        return v.valid ? { status: 'passed', detail: v.formats.join('+') } : { status: 'failed', reason: v.errors.join('; ') || 'no valid signature' };
      },
    });
  };
}
