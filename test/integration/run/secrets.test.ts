// Secrets (registry passwords, tokens, the signing key) must never reach workflow history, the
// audit bucket or the worker's logs. Run a real confirmed promotion against the authenticated
// registries, then search all three for every secret the stack holds.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../../lib/storage/audit-store';
import { auditStoreConfigFromEnv } from '../../../lib/storage/audit-store';
import type { RunReport } from '../../../lib/run/types';
import { parseJsonOutput, runCli } from '../../support/cli';
import { buildScenario } from '../../support/scenario';
import { stack } from '../../support/stack-env';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process';

let worker: WorkerProcess | undefined;
afterAll(async () => worker?.stop());

function secretsOfTheStack(): string[] {
  const s = stack();
  const dir = join(s.dockerConfigDir, '..', 'secrets');
  const secrets = readdirSync(dir)
    .filter((f) => f.endsWith('.password'))
    .map((f) => readFileSync(join(dir, f), 'utf8').trim());
  const config = JSON.parse(readFileSync(s.dockerConfigFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  secrets.push(...Object.values(config.auths).map((a) => a.auth));
  // the signing key's PEM body, in pieces long enough to be unmistakable
  const pem = readFileSync(s.signingKeyPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
  secrets.push(...pem.filter((l) => l.length >= 32));
  return secrets.filter((x) => x.length >= 8);
}

describe('secrets', () => {
  it('appear nowhere in history, S3 or logs', async () => {
    const taskQueue = `secrets-${randomBytes(4).toString('hex')}`;
    worker = await startWorkerProcess(taskQueue);
    const scenario = await buildScenario();
    const report = parseJsonOutput<RunReport>(await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: taskQueue }));
    expect(report.signatures.signed).toBeGreaterThan(0); // the key was used, the authenticated registries written

    const connection = await Connection.connect({ address: stack().temporal.address });
    const history = JSON.stringify(await new Client({ connection }).workflow.getHandle(report.workflowId).fetchHistory());
    await connection.close();

    const config = auditStoreConfigFromEnv();
    const store = new AuditStore(config);
    const s3 = new S3Client({ region: config.region, endpoint: config.endpoint, forcePathStyle: true });
    const keys: string[] = [report.audit.bundleKey];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: `runs/${report.workflowId}/${report.runId}/`, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys.length).toBeGreaterThan(5);
    const objects = await Promise.all(keys.map(async (k) => Buffer.from(await store.getBytes(k)).toString('utf8')));

    const logs = worker.output();
    expect(logs).toContain('setup done');
    const secrets = secretsOfTheStack();
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) {
      expect(history.includes(secret), 'secret in workflow history').toBe(false);
      expect(logs.includes(secret), 'secret in worker logs').toBe(false);
      objects.forEach((o, i) => expect(o.includes(secret), `secret in s3://${config.bucket}/${keys[i]}`).toBe(false));
    }
  }, 240_000);
});
