// Wrong TLS material stops the CLI and the worker at start, in seconds, with one line that says
// what to set; neither retries forever. The client certificate and the CA a user might get wrong
// come from a second CA of the test's own, which the cluster does not trust.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCertificate } from '../../../scripts/dev/stack/tls';
import { runCli } from '../../support/cli';
import { clusterClientEnv, clusterSkipReason, clusterTaskQueue } from '../../support/cluster';
import { runProcess, type ProcessResult } from '../../../scripts/dev/run-process';

const skip = clusterSkipReason();
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Far above the few seconds a refusal takes, far below "forever": a process still going then is killed and fails the test.
const LIMIT_MS = 45_000;

const rogue = { ca: '', cert: '', key: '' };
beforeAll(() => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), 'promoter-rogue-ca-'));
  const caKey = join(dir, 'ca.key');
  rogue.ca = join(dir, 'ca.crt');
  rogue.cert = join(dir, 'client.crt');
  rogue.key = join(dir, 'client.key');
  createCa(caKey, rogue.ca, 'not the cluster CA');
  issueServerCertificate({ caKey, caCert: rogue.ca, keyOut: rogue.key, certOut: rogue.cert, hosts: ['promoter-worker'], extendedKeyUsage: 'clientAuth' });
});

async function timed(run: () => Promise<ProcessResult>): Promise<ProcessResult & { ms: number }> {
  const began = Date.now();
  const r = await run();
  return { ...r, ms: Date.now() - began };
}

const cli = (env: Record<string, string | undefined>) => timed(() => runCli(['status', 'promote-none'], env, LIMIT_MS));
const worker = (env: Record<string, string | undefined>) =>
  timed(() => runProcess(`${ROOT}node_modules/.bin/tsx`, [`${ROOT}worker/main.ts`], { PROMOTER_TASK_QUEUE: clusterTaskQueue('refused'), ...env }, LIMIT_MS));

const NO_TLS = { TEMPORAL_TLS_SERVER_CA_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined };

const cases = () => [
  {
    name: 'a client certificate from another CA',
    env: clusterClientEnv('mtls', { TEMPORAL_TLS_CLIENT_CERT_PATH: rogue.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: rogue.key }),
    message: /Temporal at 127\.0\.0\.1:7243 refused the client certificate .*client\.crt/,
  },
  {
    name: 'no client certificate',
    env: clusterClientEnv('mtls', { TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined }),
    message: /requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
  },
  {
    name: 'a server certificate no trusted CA signed',
    env: clusterClientEnv('mtls', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: rogue.ca }),
    message: /presented a certificate that no trusted CA signed: set TEMPORAL_TLS_SERVER_CA_CERT_PATH .*ca\.crt did not/,
  },
  {
    name: 'the system CAs only',
    env: clusterClientEnv('mtls', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: undefined }),
    message: /no trusted CA signed: .*\(only the system CAs are trusted now\)/,
  },
  {
    name: 'a server name the certificate does not carry',
    env: clusterClientEnv('mtls', { TEMPORAL_TLS_SERVER_NAME: 'temporal.example.com' }),
    message: /not valid for temporal\.example\.com: set TEMPORAL_TLS_SERVER_NAME/,
  },
  {
    name: 'plain gRPC to the TLS frontend',
    env: { ...clusterClientEnv('mtls'), ...NO_TLS },
    message: /did not answer plain gRPC \(does it require TLS\?\): set TEMPORAL_TLS=true/,
  },
];

describe.skipIf(skip)(`the cluster refuses wrong TLS settings at start${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it(
    'the CLI: exit 1, one line naming the setting, no retrying',
    async () => {
      for (const c of cases()) {
        const r = await cli(c.env);
        expect(r.code, `${c.name}: ${r.stderr}`).toBe(1);
        expect(r.stderr.trim(), c.name).toMatch(c.message);
        expect(r.stderr.trim().split('\n'), c.name).toHaveLength(1);
        expect(r.ms, c.name).toBeLessThan(LIMIT_MS);
      }
    },
    8 * LIMIT_MS,
  );

  it(
    'the worker: exits 1 before it polls, with the same line',
    async () => {
      for (const c of cases().filter((x) => x.name !== 'the system CAs only' && x.name !== 'plain gRPC to the TLS frontend')) {
        const r = await worker(c.env);
        expect(r.code, `${c.name}: ${r.stdout}${r.stderr}`).toBe(1);
        expect(r.stderr, c.name).toMatch(/^promoter worker: Temporal at /);
        expect(r.stderr, c.name).toMatch(c.message);
        expect(`${r.stdout}${r.stderr}`, c.name).not.toContain('worker started');
      }
    },
    6 * LIMIT_MS,
  );

  it('the right material still works: the same CLI call reaches the cluster', async () => {
    const r = await cli(clusterClientEnv('mtls'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('no run with id promote-none');
  });
});
