/** Validate: verify the signatures of each source digest against the `signatures:` policy of every project naming it. */
import type { PlanRef } from '../../lib/run/input';
import type { VerificationSummary } from '../../lib/run/outcomes';
import type { ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { SIGNATURE_CHECK } from '../shared/source-checks';
import { runVerification } from '../shared/verification';

export function createValidate(deps: ActivityDeps) {
  return async function validate(hb: Heartbeat, args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, hb, args, SIGNATURE_CHECK);
  };
}
