// The API-key path, as with Temporal Cloud: a worker and the CLI with the `cluster-api-key`
// profile (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE, api_key in the temporal.toml) reach the
// cluster through the gate, which lets only `authorization: Bearer <key>` through. A wrong key,
// or none, is refused at start.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { clusterPaths } from '../../../scripts/dev/stack';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { clusterClientEnv, clusterSkipReason, clusterTaskQueue, useCluster } from '../../support/cluster';
import { writePlainManifest } from '../../support/plain-manifest';
import { runProcess } from '../../../scripts/dev/run-process';
import { stack, uniqueName } from '../../support/stack-env';
import { startWorkerProcess } from '../../support/worker-process';

const skip = clusterSkipReason();
const cluster = useCluster();
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe.skipIf(skip)(`the cluster by API key${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('a worker and the CLI with the key run a dry run through the gate; the run is on the cluster', async () => {
    const s = stack();
    const prefix = uniqueName('cluster-key');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const image = await pushRandomImage(oci, s.registries.staging, `${prefix}/app`, { seed: `${prefix}/app`, layers: 1, layerSize: 1024 });
    const destinations = [`${s.registries.production}/${prefix}`, `${s.registries.all.mirrorA}/${prefix}`];
    const manifest = await writePlainManifest(`${s.registries.staging}/${prefix}`, destinations, [{ name: 'app', digest: image.digest }]);

    const taskQueue = clusterTaskQueue('cluster-key');
    const env = clusterClientEnv('api-key', { PROMOTER_TASK_QUEUE: taskQueue });
    const worker = await startWorkerProcess(taskQueue, env);
    cluster.workers.push(worker);
    expect(worker.output()).toMatch(/127\.0\.0\.1:7253 \[namespace default, TLS, CA .*ca\.crt, API key; settings from profile \\?"cluster-api-key\\?"/); // JSON log: quotes escaped

    const r = await runCli(['run', '--manifest', manifest, '--wait', '--json'], env, 180_000);
    expect(r.code, r.stderr).toBe(0);
    const report = parseJsonOutput<RunReport>(r);
    expect(report.status).toBe('dry-run');
    expect(report.edges).toMatchObject({ total: 2, toPromote: 2, promoted: 0, failed: 0 });
    // The same run seen straight at the frontend (mTLS): the gate forwards to the cluster, nothing else.
    const handle = cluster.client().workflow.getHandle(report.workflowId);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    // The key is a secret like the others: in no history, in no output of the worker or the CLI.
    const key = readFileSync(clusterPaths.apiKey, 'utf8').trim();
    expect(JSON.stringify(await handle.fetchHistory())).not.toContain(key);
    expect(`${worker.output()}${r.stdout}${r.stderr}`).not.toContain(key);
    // Nothing was written: a dry run.
    expect(await oci.headManifest({ host: s.registries.production, repository: `${prefix}/app`, digest: image.digest })).toBeUndefined();
  }, 240_000);

  it('a wrong key, or none, is refused at start: the CLI and the worker exit 1 with one line', async () => {
    const cases = [
      { env: clusterClientEnv('api-key', { TEMPORAL_API_KEY: 'not-the-key' }), message: /Temporal at 127\.0\.0\.1:7253 refused the API key/ },
      {
        env: clusterClientEnv('mtls', {
          TEMPORAL_ADDRESS: '127.0.0.1:7253',
          TEMPORAL_TLS_CLIENT_CERT_PATH: undefined,
          TEMPORAL_TLS_CLIENT_KEY_PATH: undefined,
        }),
        message: /Temporal at 127\.0\.0\.1:7253 requires credentials: set TEMPORAL_API_KEY/,
      },
    ];
    for (const c of cases) {
      const cli = await runCli(['status', 'promote-none'], c.env, 45_000);
      expect(cli.code, cli.stderr).toBe(1);
      expect(cli.stderr.trim()).toMatch(c.message);
      expect(cli.stderr).not.toContain('not-the-key');
      const w = await runProcess(
        `${ROOT}node_modules/.bin/tsx`,
        [`${ROOT}worker/main.ts`],
        { PROMOTER_TASK_QUEUE: clusterTaskQueue('key-refused'), ...c.env },
        45_000,
      );
      expect(w.code, `${w.stdout}${w.stderr}`).toBe(1);
      expect(w.stderr).toMatch(c.message);
      expect(`${w.stdout}${w.stderr}`).not.toContain('not-the-key');
    }
  }, 240_000);
});
