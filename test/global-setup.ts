// Vitest global setup: make sure the dev stack answers, then hand its endpoints to the tests.
// The stack is left running afterwards (it is shared and slow to rebuild less often than tests run);
// CI stops it explicitly (.ci/run), people use `npm run stack -- down`.
import { stackEnv, stackUp } from '../scripts/dev/stack';
import { buildIfStale } from '../scripts/dev/worker-process';

export default async function setup(): Promise<void> {
  // The tests drive the built `promoter` command: build dist/ once here if the sources changed,
  // rather than in whichever test file calls it first.
  buildIfStale();
  const result = await stackUp();
  if (result.started.length > 0) {
    console.log(`dev stack: started ${result.started.join(', ')} in ${(result.durationMs / 1000).toFixed(1)}s`);
  }
  // Forked test workers inherit process.env, so tests and the code under test see the same endpoints.
  for (const [name, value] of Object.entries(stackEnv())) process.env[name] = value;
  // Test files run as parallel processes, each with its own workers: none serves metrics on the
  // fixed default port unless a test asks for an address of its own.
  process.env.PROMOTER_METRICS_ADDRESS ??= 'off';
}
