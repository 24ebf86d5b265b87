import type { MirrorInput, MirrorReport } from '../lib/run/mirror-types';
import type { ActivityDeps } from './context';
export function createMirror(_deps: ActivityDeps) {
  return async function mirrorSignatures(_input: MirrorInput): Promise<MirrorReport> {
    throw new Error('PLACEHOLDER');
  };
}
