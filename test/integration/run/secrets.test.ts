// Secrets (registry passwords, tokens, the signing key, the keyless identity token) must never
// reach workflow history, the audit bucket or the worker's logs. Run real confirmed promotions
// against the authenticated registries, key-based and keyless, then search all three for every
// secret the stack holds.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../../lib/storage/audit-store';
import { auditStoreConfigFromEnv } from '../../../lib/storage/audit-store';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { keylessStack } from '../../support/keyless';
import { buildScenario } from '../../support/scenario';
import { stack } from '../../support/stack-env';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process';

const keyless = keylessStack();
let worker: WorkerProcess | undefined;
let keylessWorker: WorkerProcess | undefined;
afterAll(async () => {
  await worker?.stop();
  await keylessWorker?.stop();
});

function secretsOfTheStack(): string[] {
  const s = stack();
  const dir = join(s.dockerConfigDir, '..', 'secrets');
  const secrets = readdirSync(dir)
    .filter((f) => f.endsWith('.password'))
    .map((f) => readFileSync(join(dir, f), 'utf8').trim());
  const config = JSON.parse(readFileSync(s.dockerConfigFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  secrets.push(...Object.values(config.auths).map((a) => a.auth));
  // the signing key's PEM body, in pieces long enough to be unmistakable
  const pem = readFileSync(s.signingKeyPath, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'));
  secrets.push(...pem.filter((l) => l.length >= 32));
  return secrets.filter((x) => x.length >= 8);
}

/** Everything a run leaves where people and tools can read it: its history, its S3 objects, the worker's log. */
async function whatTheRunLeft(report: RunReport, worker: WorkerProcess): Promise<{ history: string; objects: { key: string; text: string }[]; logs: string }> {
  const connection = await Connection.connect({ address: stack().temporal.address });
  const history = JSON.stringify(await new Client({ connection }).workflow.getHandle(report.workflowId).fetchHistory());
  await connection.close();

  const config = auditStoreConfigFromEnv();
  const store = new AuditStore(config);
  const s3 = new S3Client({ region: config.region, endpoint: config.endpoint, forcePathStyle: true });
  const keys: string[] = [report.audit.bundleKey];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: config.bucket, Prefix: `runs/${report.workflowId}/${report.runId}/`, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  s3.destroy();
  expect(keys.length).toBeGreaterThan(5);
  const objects = await Promise.all(keys.map(async (key) => ({ key, text: Buffer.from(await store.getBytes(key)).toString('utf8') })));
  const logs = worker.output();
  expect(logs).toContain('setup done');
  return { history, objects, logs };
}

function expectNowhere(left: Awaited<ReturnType<typeof whatTheRunLeft>>, secrets: string[]): void {
  for (const secret of secrets) {
    expect(left.history.includes(secret), 'secret in workflow history').toBe(false);
    expect(left.logs.includes(secret), 'secret in worker logs').toBe(false);
    for (const o of left.objects) expect(o.text.includes(secret), `secret in S3 object ${o.key}`).toBe(false);
  }
}

describe('secrets', () => {
  it('appear nowhere in history, S3 or logs', async () => {
    const taskQueue = `secrets-${randomBytes(4).toString('hex')}`;
    worker = await startWorkerProcess(taskQueue);
    const scenario = await buildScenario();
    const report = parseJsonOutput<RunReport>(
      await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: taskQueue }),
    );
    expect(report.signatures.signed).toBeGreaterThan(0); // the key was used, the authenticated registries written
    const secrets = secretsOfTheStack();
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    expectNowhere(await whatTheRunLeft(report, worker), secrets);
  }, 240_000);

  it.skipIf(!keyless)(
    'keyless: the identity token appears nowhere in history, S3 or logs',
    async () => {
      const taskQueue = `secrets-kl-${randomBytes(4).toString('hex')}`;
      const tokens = new Set([readFileSync(keyless!.tokenFile, 'utf8').trim()]);
      keylessWorker = await startWorkerProcess(taskQueue, { PROMOTER_SIGNING_MODE: 'keyless' });
      const scenario = await buildScenario();
      const report = parseJsonOutput<RunReport>(
        await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: taskQueue }),
      );
      expect(report.signatures.signed).toBeGreaterThan(0); // a Fulcio certificate was obtained with the token
      tokens.add(readFileSync(keyless!.tokenFile, 'utf8').trim()); // the issuer may have rotated it meanwhile
      const left = await whatTheRunLeft(report, keylessWorker);
      // The whole token, and its signature alone (the part that makes it a credential).
      expectNowhere(
        left,
        [...tokens].flatMap((t) => [t, t.split('.')[2]!]),
      );
      // Nor any other JWT (header.payload.signature): what the worker held never went out.
      const jwt = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{20,}/;
      expect(left.history).not.toMatch(jwt);
      expect(left.logs).not.toMatch(jwt);
      for (const o of left.objects) expect(o.text, o.key).not.toMatch(jwt);
    },
    240_000,
  );
});
