/** Provenance: verify the SLSA provenance v1 of each source digest against the `provenance:` policy of every project naming it. */
import type { PlanRef } from '../../lib/run/input';
import type { VerificationSummary } from '../../lib/run/outcomes';
import type { ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { PROVENANCE_CHECK } from '../shared/source-checks';
import { runVerification } from '../shared/verification';

export function createProvenance(deps: ActivityDeps) {
  return async function provenance(hb: Heartbeat, args: PlanRef): Promise<VerificationSummary> {
    return runVerification(deps, hb, args, PROVENANCE_CHECK);
  };
}
