// TLS like every real registry: HTTPS first (loopback falls back to plain HTTP only for a server
// that does not speak TLS at all), per-host CA trust from certs.d, and a certificate the client
// refuses is a clear, non-retryable error that stops Setup at once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, type OciError } from '../../../lib/oci';
import { Transport } from '../../../lib/oci/transport';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { stack } from '../../support/stack-env';
import { startMtlsRegistry, startTlsRegistry, type CertificateFault, type TlsRegistry } from '../../support/tls-registry';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { stackClient } from './helpers';

const env = stack();
const { staging, production, mirrorA, mirrorB } = env.registries.all;

/** What the error must say about each certificate, besides the host. */
const REASON: Record<CertificateFault, RegExp> = {
  untrusted: /untrusted issuer|not trusted/,
  'wrong-host': /for another host name/,
  expired: /expired certificate/,
};

describe('registry TLS', () => {
  const bad = new Map<CertificateFault, TlsRegistry>();

  beforeAll(async () => {
    const started = await Promise.all((['untrusted', 'wrong-host', 'expired'] as const).map((f) => startTlsRegistry(f)));
    for (const r of started) bad.set(r.fault, r);
  });
  afterAll(async () => {
    await Promise.all([...bad.values()].map((r) => r.stop()));
  });

  it('speaks HTTPS to production and mirror-b with the CA from certs.d, plain HTTP only to the loopback registries without TLS', async () => {
    const transport = new Transport();
    expect(await transport.schemeFor(production)).toBe('https');
    expect(await transport.schemeFor(mirrorB)).toBe('https');
    expect(await transport.schemeFor(staging)).toBe('http');
    expect(await transport.schemeFor(mirrorA)).toBe('http');

    // The TLS handshake that finds the scheme is not a registry request: counts stay exact.
    const client = stackClient();
    await client.ping(staging);
    await client.ping(production);
    await client.ping(mirrorB);
    const stats = client.stats();
    expect(stats[staging]!.total).toBe(1);
    expect(stats[production]!.total).toBe(2); // the 401 challenge, then with credentials
    expect(stats[mirrorB]!.total).toBe(2);
    await client.transport.close();
  });

  it('never falls back to plain HTTP when a loopback registry presents a certificate it does not trust', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'promoter-certs-'));
    try {
      const client = new RegistryClient({ certsDirs: [empty] });
      const err = (await client.ping(production).then(
        () => undefined,
        (e: unknown) => e,
      )) as OciError;
      expect(err).toMatchObject({ code: 'TLS', retryable: false, registry: production });
      expect(err.message).toContain(`TLS to ${production} failed`);
      expect(err.message).toMatch(REASON.untrusted);
      expect(client.stats()).toEqual({});
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  for (const fault of ['untrusted', 'wrong-host', 'expired'] as const) {
    it(`refuses a registry with ${fault === 'expired' ? 'an expired certificate' : fault === 'wrong-host' ? 'a certificate for another host name' : 'a certificate from an unknown CA'}: TLS error naming the host, not retried`, async () => {
      const { host } = bad.get(fault)!;
      const client = stackClient({ retry: { maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 50 } });
      const err = (await client.ping(host).then(
        () => undefined,
        (e: unknown) => e,
      )) as OciError;
      expect(err).toMatchObject({ name: 'OciError', code: 'TLS', retryable: false, registry: host });
      expect(err.message).toContain(host);
      expect(err.message).toMatch(REASON[fault]);
      // Nothing went out in plain HTTP, and no request reached the registry.
      expect(client.stats()).toEqual({});
    });
  }

  it('presents the client certificate from certs.d (*.cert + *.key) to a registry that demands one', async () => {
    const mtls = await startMtlsRegistry();
    try {
      const withClient = new RegistryClient({ certsDirs: [mtls.certsWithClient] });
      await withClient.ping(mtls.host);
      expect(withClient.stats()[mtls.host]!.total).toBe(1);
      await withClient.transport.close();

      // The registry really demands it: without, the connection is refused. (Over TLS 1.3 the
      // server's alert comes after the handshake and Node reports a closed socket, not the reason.)
      const without = new RegistryClient({ certsDirs: [mtls.certsWithoutClient], retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
      await expect(without.ping(mtls.host)).rejects.toMatchObject({ name: 'OciError', registry: mtls.host });
      await without.transport.close();
    } finally {
      await mtls.stop();
    }
  });

  describe('Setup', () => {
    let worker: TestWorker;
    beforeAll(async () => {
      worker = await startTestWorker('tls');
    });
    afterAll(async () => worker?.stop());

    it('fails at once and non-retryably, naming each registry and what is wrong with its certificate', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'promoter-tls-run-'));
      const manifest = join(dir, 'promoter-manifest.yaml');
      const hosts = [...bad.values()].map((r) => r.host);
      await writeFile(
        manifest,
        [
          'registries:',
          `  - name: ${staging}/tls-setup`,
          '    src: true',
          ...hosts.map((h) => `  - name: ${h}/tls-setup`),
          'images:',
          '  - name: app',
          '    dmap:',
          `      "sha256:${'ab'.repeat(32)}": ["v1"]`,
          '',
        ].join('\n'),
      );
      try {
        const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
        const report = parseJsonOutput<RunReport>(r);
        expect(r.code).toBe(1);
        expect(report.phases.setup.status).toBe('failed');
        const said = `${r.stdout}\n${r.stderr}`;
        for (const registry of bad.values()) {
          expect(said).toContain(registry.host);
          expect(said).toMatch(REASON[registry.fault]);
        }

        // One attempt, failed as non-retryable: the history says so.
        const connection = await Connection.connect({ address: env.temporal.address });
        try {
          const history = await new Client({ connection, namespace: env.temporal.namespace }).workflow.getHandle(report.workflowId).fetchHistory();
          const events = history.events ?? [];
          const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'setup');
          const id = scheduled?.eventId?.toString();
          const started = events.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === id);
          const failed = events.find((e) => e.activityTaskFailedEventAttributes?.scheduledEventId?.toString() === id);
          expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([1]);
          expect(failed?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.nonRetryable).toBe(true);
        } finally {
          await connection.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
