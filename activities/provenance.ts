/** Provenance: verify the SLSA provenance v1 of each distinct source digest against the project's `provenance:` policy. */
import { findProvenance, verifyImageProvenance } from '../lib/signing';
import type { PlanRef, VerificationSummary } from '../lib/run/types';
import type { ActivityDeps } from './context';
import { trustFor } from './trust';
import { runVerification } from './verification';

export function createProvenance(deps: ActivityDeps) {
  return async function provenance(args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, args, {
      phase: 'provenance',
      policyOf: (p) => p.provenance,
      async check(deps, source, digest, policy) {
        const target = { ...source, digest };
        const candidates = await findProvenance(deps.registry.client, target);
        if (candidates.length === 0) return { status: 'missing' };
        const trust = await trustFor(deps, policy);
        if (trust.keys.length === 0 && !trust.keyless) return { status: 'failed', reason: 'provenance found, but the policy names no keys or identities to verify it with' };
        const v = await verifyImageProvenance(deps.registry.client, target, { ...trust, builders: policy.builders, sources: policy.sources });
        return v.ok ? { status: 'passed', detail: v.source } : { status: 'failed', reason: v.reason };
      },
    });
  };
}
