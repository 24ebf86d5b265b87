import type { AfterPromoteArgs, AttestSummary } from '../lib/run/types';
import type { ActivityDeps } from './context';
export function createAttest(_deps: ActivityDeps) {
  return async function attest(_args: AfterPromoteArgs): Promise<AttestSummary> {
    throw new Error('PLACEHOLDER');
  };
}
