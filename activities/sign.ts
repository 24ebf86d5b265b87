import type { AfterPromoteArgs, SignSummary } from '../lib/run/types';
import type { ActivityDeps } from './context';
export function createSign(_deps: ActivityDeps) {
  return async function sign(_args: AfterPromoteArgs): Promise<SignSummary> {
    throw (await import('@temporalio/activity')).ApplicationFailure.nonRetryable('PLACEHOLDER');
  };
}
