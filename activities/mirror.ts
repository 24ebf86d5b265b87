import type { MirrorInput, MirrorReport } from '../lib/run/mirror-types';
import type { ActivityDeps } from './context';
export function createMirror(_deps: ActivityDeps) {
  return async function mirrorSignatures(_input: MirrorInput): Promise<MirrorReport> {
    throw (await import('@temporalio/activity')).ApplicationFailure.nonRetryable('PLACEHOLDER');
  };
}
