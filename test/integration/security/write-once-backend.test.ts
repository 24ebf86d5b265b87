// An S3 backend that ignores `If-None-Match: *` (a proxy in front of the stack's versitygw drops
// the header and signs the request again): every write-once audit record would silently become an
// overwrite. Setup proves the backend refuses a second conditional write before a run does
// anything, and refuses, non-retryable and saying why, a backend that does not.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { signatureTag } from '../../../lib/signing';
import { AuditStore, WriteOnceNotEnforced } from '../../../lib/storage/audit-store';
import { parseJsonOutput, runCli } from '../../support/cli';
import { S3Proxy } from '../../support/s3-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { registryClient, seedImages, writeManifest } from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const env = stack();
const PROBE = /^\/[^/]+\/probes\/write-once\/[0-9a-f-]{36}$/;

describe('an S3 backend that does not enforce write-once', () => {
  let proxy: S3Proxy;
  const storeVia = (endpoint: string) => new AuditStore({ bucket: env.s3.bucket, endpoint, region: env.s3.region, forcePathStyle: true });

  beforeAll(async () => {
    proxy = await S3Proxy.start(env.s3.endpoint, env.s3.region);
  });
  afterAll(async () => proxy?.close());

  it('versitygw honours If-None-Match: the probe sees 412 on its second write, and removes the probe', async () => {
    proxy.stripIfNoneMatch = false;
    proxy.requests.length = 0;
    await storeVia(proxy.endpoint).checkWriteOnce();
    const probe = proxy.requests.filter((r) => PROBE.test(r.path));
    expect(probe.map((r) => [r.method, r.ifNoneMatch, r.status])).toEqual([
      ['PUT', true, 200],
      ['PUT', true, 412],
      ['DELETE', false, 204],
    ]);
    expect(await storeVia(env.s3.endpoint).exists(probe[0]!.path.split('/').slice(2).join('/'))).toBe(false);
  });

  it('without the header honoured, a write-once record is silently replaced (the hole the probe closes)', async () => {
    proxy.stripIfNoneMatch = true;
    const store = storeVia(proxy.endpoint);
    const key = `runs/${uniqueName('no-write-once')}/plan.json`;
    await store.writeOnceJson(key, { edges: 1 });
    // No 412 comes back, so the store cannot tell: the second, different record "succeeds".
    await store.writeOnceJson(key, { edges: 2 });
    expect(await storeVia(env.s3.endpoint).getJson(key)).toEqual({ edges: 2 });
  });

  it('the probe refuses such a backend, non-retryable, saying why; the probe is removed', async () => {
    proxy.stripIfNoneMatch = true;
    proxy.requests.length = 0;
    const err = await storeVia(proxy.endpoint)
      .checkWriteOnce()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WriteOnceNotEnforced);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(
      /does not enforce write-once \(If-None-Match: \*\): a second conditional write to an existing key succeeded and replaced it/,
    );
    expect((err as Error).message).toContain(proxy.endpoint);
    const probe = proxy.requests.filter((r) => PROBE.test(r.path));
    expect(probe.map((r) => [r.method, r.status])).toEqual([
      ['PUT', 200],
      ['PUT', 200],
      ['GET', 200],
      ['DELETE', 204],
    ]);
  });

  describe('a run whose worker writes through that backend', () => {
    let worker: TestWorker;
    beforeAll(async () => {
      proxy.stripIfNoneMatch = true;
      worker = await startTestWorker('no-write-once', { PROMOTER_S3_ENDPOINT: proxy.endpoint });
    });
    afterAll(async () => worker?.stop());

    it('fails Setup at once, non-retryable, saying why; nothing is promoted or signed', async () => {
      const client = registryClient();
      const prefix = uniqueName('no-write-once');
      const staged = await seedImages(client, prefix, ['app']);
      const production = env.registries.production;
      const manifest = await writeManifest({
        prefix,
        destinations: [production],
        policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
        images: [{ name: 'app', digest: staged.app!.digest }],
      });
      const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], {
        PROMOTER_TASK_QUEUE: worker.taskQueue,
        PROMOTER_S3_ENDPOINT: proxy.endpoint,
      });
      const report = parseJsonOutput<RunReport>(r);
      expect(r.code).toBe(1);
      expect(report.phases.setup.status).toBe('failed');
      expect(report.phases.setup.summary).toMatch(/does not enforce write-once \(If-None-Match: \*\)/);
      expect(report.phases.promote.status).toBe('skipped');
      expect(report.edges.promoted).toBe(0);
      const repo = { host: production, repository: staged.app!.repository };
      expect(await client.headManifest({ ...repo, tag: 'v1' })).toBeUndefined();
      expect(await client.headManifest({ ...repo, tag: signatureTag(staged.app!.digest) })).toBeUndefined();

      // One attempt, failed as non-retryable: the history says so.
      const connection = await Connection.connect({ address: env.temporal.address });
      try {
        const history = await new Client({ connection, namespace: env.temporal.namespace }).workflow.getHandle(report.workflowId).fetchHistory();
        const events = history.events ?? [];
        const id = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'setup')?.eventId?.toString();
        const started = events.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === id);
        const failed = events.find((e) => e.activityTaskFailedEventAttributes?.scheduledEventId?.toString() === id);
        expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
        expect(failed?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo).toMatchObject({ nonRetryable: true, type: 'WriteOnceNotEnforced' });
      } finally {
        await connection.close();
      }
    }, 180_000);
  });
});
