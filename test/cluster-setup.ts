// Vitest global setup of the `cluster` project (after test/global-setup.ts has the dev stack up):
// brings the stack's Temporal cluster up, or records why it cannot run here so its tests skip
// with that message. Left running afterwards, like the dev stack (`npm run stack -- down` stops both).
import { clusterUnavailable, ensureCluster } from '../scripts/dev/stack';
import { CLUSTER_SKIP_VARIABLE } from './support/cluster';

export default async function setup(): Promise<void> {
  const reason = process.env.PROMOTER_SKIP_TEMPORAL_CLUSTER === '1' ? 'PROMOTER_SKIP_TEMPORAL_CLUSTER=1' : clusterUnavailable();
  if (reason) {
    process.env[CLUSTER_SKIP_VARIABLE] = reason;
    console.warn(`Temporal cluster tests skipped: ${reason}`);
    return;
  }
  const began = Date.now();
  const started = await ensureCluster();
  if (started.length > 0) console.log(`Temporal cluster: started ${started.join(', ')} in ${((Date.now() - began) / 1000).toFixed(1)}s`);
}
