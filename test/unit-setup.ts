// Vitest global setup of the unit layer: it needs nothing running, but the workflow tests start
// the Temporal CLI's dev server in-process, so the pinned CLI must be installed. The same script
// as scripts/setup.sh's step: a few milliseconds when it is there, one pip install when not.
import { spawnSync } from 'node:child_process';
import { stackPaths } from '../scripts/dev/stack/paths';

export default function setup(): void {
  const r = spawnSync('bash', [`${stackPaths.root}/scripts/setup/temporal.sh`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Temporal CLI is missing and could not be installed:\n${r.stdout}${r.stderr}`);
}
