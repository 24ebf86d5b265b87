/** Provenance: verify the SLSA provenance of each distinct source digest against the project's policy. */
import type { PlanRef, VerificationSummary } from '../lib/run/types';
import type { ActivityDeps } from './context';
import { runVerification } from './verification';

export function createProvenance(deps: ActivityDeps) {
  return async function provenance(args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, args, {
      phase: 'provenance',
      policyOf: (p) => p.provenance,
      check: async () => ({ status: 'missing' }), // PLACEHOLDER until lib/signing registry I/O lands
    });
  };
}
