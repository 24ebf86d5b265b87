// An extra distribution registry (the same docker-registry binary as the stack) serving HTTPS with
// a certificate a test chooses: one from an unknown CA, one for another host name, an expired one.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, portOpen } from '../../scripts/dev/stack/probes';
import { stopProcess, waitServing } from './child-process';
import { createCa, issueServerCertificate, tlsFiles } from '../../scripts/dev/stack/tls';
import { stackPaths, toolPaths } from '../../scripts/dev/stack';

export type CertificateFault = 'untrusted' | 'wrong-host' | 'expired';

const DAY_MS = 86_400_000;

export interface TlsRegistry {
  host: string;
  fault: CertificateFault;
  stop(): Promise<void>;
}

/**
 * Starts docker-registry on a free loopback port with a bad certificate. For 'wrong-host' and
 * 'expired' the certificate comes from the stack CA, which the stack's certs.d folder trusts for
 * this host (so only the name or the date is wrong); 'untrusted' has a CA nobody trusts.
 */
export async function startTlsRegistry(fault: CertificateFault): Promise<TlsRegistry> {
  const registry = toolPaths().registry;
  if (!registry) throw new Error('docker-registry not found; run: bash scripts/setup.sh');
  const dir = await mkdtemp(join(tmpdir(), `promoter-tls-${fault}-`));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const key = join(dir, 'server.key');
  const cert = join(dir, 'server.crt');
  let ca = { key: tlsFiles.caKey, cert: tlsFiles.caCert };
  if (fault === 'untrusted') {
    ca = { key: join(dir, 'other-ca.key'), cert: join(dir, 'other-ca.crt') };
    createCa(ca.key, ca.cert, 'a CA nobody trusts');
  }
  issueServerCertificate({
    caKey: ca.key,
    caCert: ca.cert,
    keyOut: key,
    certOut: cert,
    hosts: fault === 'wrong-host' ? ['registry.invalid'] : ['127.0.0.1', 'localhost'],
    ...(fault === 'expired' ? { notBefore: new Date(Date.now() - 60 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) } : {}),
  });
  const certsEntry = join(stackPaths.certsDir, host);
  if (fault !== 'untrusted') {
    mkdirSync(certsEntry, { recursive: true });
    writeFileSync(join(certsEntry, 'ca.crt'), readFileSync(tlsFiles.caCert));
  }
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    stringify({
      version: 0.1,
      log: { level: 'error', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'data') } },
      http: { addr: host, tls: { certificate: cert, key } },
    }),
  );
  const child: ChildProcess = spawn(registry, ['serve', config], { stdio: 'ignore' });
  await waitServing(child, () => portOpen('127.0.0.1', port), `docker-registry with a ${fault} certificate`);
  return {
    host,
    fault,
    async stop() {
      await stopProcess(child);
      await rm(certsEntry, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface MtlsRegistry {
  host: string;
  /** certs.d folder with the stack CA and a client certificate the registry accepts. */
  certsWithClient: string;
  /** certs.d folder with the stack CA only. */
  certsWithoutClient: string;
  stop(): Promise<void>;
}

/**
 * docker-registry demanding a client certificate (distribution's `http.tls.clientcas`), plus two
 * certs.d folders for it: one holding a client certificate from the CA it trusts, one without.
 */
export async function startMtlsRegistry(): Promise<MtlsRegistry> {
  const registry = toolPaths().registry;
  if (!registry) throw new Error('docker-registry not found; run: bash scripts/setup.sh');
  const dir = await mkdtemp(join(tmpdir(), 'promoter-mtls-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const clientCa = { key: join(dir, 'client-ca.key'), cert: join(dir, 'client-ca.crt') };
  createCa(clientCa.key, clientCa.cert, 'promoter test client CA');
  const certsWithClient = join(dir, 'certs-with-client');
  const certsWithoutClient = join(dir, 'certs-without-client');
  for (const certs of [certsWithClient, certsWithoutClient]) {
    mkdirSync(join(certs, host), { recursive: true });
    writeFileSync(join(certs, host, 'ca.crt'), readFileSync(tlsFiles.caCert));
  }
  issueServerCertificate({
    caKey: clientCa.key,
    caCert: clientCa.cert,
    hosts: ['promoter-client'],
    extendedKeyUsage: 'clientAuth',
    keyOut: join(certsWithClient, host, 'client.key'),
    certOut: join(certsWithClient, host, 'client.cert'),
  });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    stringify({
      version: 0.1,
      log: { level: 'error', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'data') } },
      http: { addr: host, tls: { certificate: tlsFiles.serverCert, key: tlsFiles.serverKey, clientcas: [clientCa.cert] } },
    }),
  );
  const child: ChildProcess = spawn(registry, ['serve', config], { stdio: 'ignore' });
  await waitServing(child, () => portOpen('127.0.0.1', port), 'docker-registry with client certificates');
  return {
    host,
    certsWithClient,
    certsWithoutClient,
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
