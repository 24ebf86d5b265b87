/** Validate: verify the signatures of each distinct source digest against the project's policy. */
import type { PlanRef, VerificationSummary } from '../lib/run/types';
import type { ActivityDeps } from './context';
import { runVerification } from './verification';

export function createValidate(deps: ActivityDeps) {
  return async function validate(args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, args, {
      phase: 'validate',
      policyOf: (p) => p.signatures,
      check: async () => ({ status: 'missing' }), // PLACEHOLDER until lib/signing registry I/O lands
    });
  };
}
