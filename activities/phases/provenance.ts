/** Provenance: verify the SLSA provenance v1 of each distinct source digest against the project's `provenance:` policy. */
import type { PlanRef } from '../../lib/run/input';
import type { VerificationSummary } from '../../lib/run/outcomes';
import type { ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { runVerification } from '../shared/verification';

export function createProvenance(deps: ActivityDeps) {
  return async function provenance(hb: Heartbeat, args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, hb, args, {
      phase: 'provenance',
      policyOf: (p) => p.provenance,
      async check(deps, source, digest, policy) {
        const target = { ...source, digest };
        const found = await deps.registry.findSignatures(target);
        const candidates = await deps.registry.findProvenance(target, found);
        if (candidates.length === 0) return { status: 'missing' };
        const trust = await deps.trust.forPolicy(policy);
        if (trust.keys.length === 0 && !trust.keyless) return { status: 'failed', reason: 'provenance found, but the policy names no keys or identities to verify it with' };
        const v = await deps.registry.verifyProvenance(target, { ...trust, builders: policy.builders, sources: policy.sources }, found);
        return v.ok ? { status: 'passed', detail: v.source } : { status: 'failed', reason: v.reason };
      },
    });
  };
}
