// The audit bucket is in every phase: the plan, each batch's result, the signature archive and
// the report live there. S3 going away in the middle of a run must only delay it: the phase
// retries, and the run completes once S3 is back. What a run archived outlives a restart of the
// S3 server: `promoter report` and `promoter replay` of the run still work afterwards.
// The test runs its own versitygw (stopping the stack's would disturb other test files) and a
// proxy that makes staging slow, so that the outage lands while Promote is copying.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { attestationKey } from '../../../lib/run/storage-keys';
import type { RunReport } from '../../../lib/run/report';
import { AuditStore } from '../../../lib/storage/audit-store';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { OwnS3 } from '../../support/own-s3';
import { writePlainManifest } from '../../support/plain-manifest';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { progressQuery, type promotionWorkflow } from '../../../workflows/promotion';

const OUTAGE_MS = 10_000;

let s3: OwnS3;
let worker: TestWorker;
let proxy: FaultProxy;
let connection: Connection;

beforeAll(async () => {
  s3 = await OwnS3.start('outage-audit');
  worker = await startTestWorker('s3-outage', s3.env);
  connection = await Connection.connect({ address: stack().temporal.address });
});
afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  await connection?.close();
  await s3?.remove();
});

describe('S3 unreachable in the middle of a run', () => {
  it('the phase retries and the run completes once S3 is back; its archive outlives an S3 restart', async () => {
    const s = stack();
    const prefix = uniqueName('s3-outage');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const images = await Promise.all(
      ['one', 'two', 'three'].map(async (name) => ({
        name,
        ...(await pushRandomImage(oci, s.registries.staging, `${prefix}/${name}`, { seed: `${prefix}/${name}`, layers: 2, layerSize: 2048 })),
      })),
    );
    proxy = await FaultProxy.start(s.registries.staging);
    proxy.addFault({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'delay', ms: 3_000 }, times: Infinity });

    const manifest = await writePlainManifest(
      `${proxy.host}/${prefix}`,
      [`${s.registries.production}/${prefix}`, `${s.registries.all.mirrorA}/${prefix}`],
      images,
    );
    const env = { PROMOTER_TASK_QUEUE: worker.taskQueue, ...s3.env };
    const started = parseJsonOutput<{ workflowId: string; runId: string }>(await runCli(['run', '--manifest', manifest, '--confirm', '--json'], env));
    const handle = new Client({ connection }).workflow.getHandle<typeof promotionWorkflow>(started.workflowId, started.runId);

    await expect.poll(async () => (await handle.query(progressQuery)).currentPhase, { timeout: 60_000, interval: 100 }).toBe('promote');
    await s3.down();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await s3.up();

    const report = await handle.result();
    expect(report.status).toBe('succeeded');
    expect(report.edges).toMatchObject({ total: 6, promoted: 6, failed: 0 });
    expect(report.signatures.signed).toBe(3);
    expect(report.attestations.written).toBe(3);
    // The outage was felt: some activity failed while S3 was away and ran again.
    const retried = (await handle.fetchHistory()).events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried.length).toBeGreaterThan(0);
    for (const i of images) {
      expect(await skopeoDigest(`${s.registries.production}/${prefix}/${i.name}:v1`)).toBe(i.digest);
      expect(await skopeoDigest(`${s.registries.all.mirrorA}/${prefix}/${i.name}:v1`)).toBe(i.digest);
    }

    // Restart S3: the run's plan, attestation archive and report are still there, and the CLI
    // reads the report and replays the run as before.
    await s3.down();
    await s3.up();
    const store = new AuditStore({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
    expect(await store.exists(report.audit.planKey!)).toBe(true);
    for (const i of images) expect(await store.exists(attestationKey(report.workflowId, report.runId, i.name, i.digest)), i.name).toBe(true);
    const again = parseJsonOutput<RunReport>(await runCli(['report', report.workflowId, '--json'], env));
    expect(again).toEqual(report);
    const replay = await runCli(['replay', report.workflowId], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/deterministic/);
  }, 240_000);
});
