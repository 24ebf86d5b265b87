import type { AfterPromoteArgs, AttestSummary } from '../lib/run/types';
import type { ActivityDeps } from './context';
export function createAttest(_deps: ActivityDeps) {
  return async function attest(_args: AfterPromoteArgs): Promise<AttestSummary> {
    throw (await import('@temporalio/activity')).ApplicationFailure.nonRetryable('PLACEHOLDER');
  };
}
