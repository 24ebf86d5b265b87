// Which hosts the worker speaks to is the operator's choice (PROMOTER_ALLOWED_REGISTRIES). A worker
// allowed staging and production only is handed a manifest that also names a mirror: Setup refuses
// it with the manifest's file and line, before any request, and `promoter validate` with the same
// setting says the same. A registry cannot point the worker elsewhere either: a redirect to the
// cloud-metadata address, or a token realm there, is refused before a connection opens.
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { promote, seed, stackOci } from './transport-harness';

const s = stack();
const { staging, production } = s.registries;
const oci = stackOci();
let worker: TestWorker;
let mirror: FaultProxy;
let allowed: string;

beforeAll(async () => {
  mirror = await FaultProxy.start(s.registries.all.mirrorA);
  allowed = `${staging},${production}`;
  worker = await startTestWorker('sec-allowed', { PROMOTER_ALLOWED_REGISTRIES: allowed });
});
afterAll(async () => {
  await worker?.stop();
  await mirror?.close();
});

describe('allowed registries', () => {
  it('Setup refuses a manifest naming a host the worker may not speak to, with file:line; nothing is asked of it or written', async () => {
    const prefix = uniqueName('sec-allowed');
    const img = await seed(oci, staging, `${prefix}/app`);
    const { report, manifest, cli } = await promote(
      worker.taskQueue,
      `${staging}/${prefix}`,
      [`${production}/${prefix}`, `${mirror.host}/${prefix}`],
      [{ name: 'app', digest: img.digest }],
    );

    expect(cli.code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.phases.setup.status).toBe('failed');
    // The manifest's fifth line names the mirror (registries:, source, src: true, production, mirror).
    const said = `${cli.stdout}\n${cli.stderr}`;
    expect(said).toContain(
      `${basename(manifest)}:5: registry-not-allowed: destination registry ${mirror.host}/${prefix}: ${mirror.host} is not allowed by PROMOTER_ALLOWED_REGISTRIES=${allowed}`,
    );
    expect(mirror.requests).toEqual([]);
    expect(await oci.headManifest({ host: production, repository: `${prefix}/app`, digest: img.digest })).toBeUndefined();
    expect(report.edges.promoted).toBe(0);
    expect(report.signatures.signed).toBe(0);

    const validate = await runCli(['validate', '--manifest', manifest], { PROMOTER_ALLOWED_REGISTRIES: allowed });
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(
      `${manifest}:5: registry-not-allowed: destination registry ${mirror.host}/${prefix}: ${mirror.host} is not allowed by PROMOTER_ALLOWED_REGISTRIES=${allowed}`,
    );
    expect((await runCli(['validate', '--manifest', manifest], { PROMOTER_ALLOWED_REGISTRIES: `${allowed},${mirror.host}` })).code).toBe(0);
  }, 300_000);

  it('a redirect to the cloud-metadata address, and a token realm there, are refused before any connection', async () => {
    const prefix = uniqueName('sec-metadata');
    const img = await seed(oci, staging, `${prefix}/app`);
    const proxy = await FaultProxy.start(staging);
    try {
      // The stack's own setting: loopback on any port, nothing else named.
      const client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile, allowedRegistries: s.allowedRegistries });
      proxy.addFault({
        method: 'GET',
        path: /\/manifests\//,
        fault: { kind: 'redirect', status: 302, location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
      });
      const t0 = Date.now();
      await expect(client.getManifest({ host: proxy.host, repository: `${prefix}/app`, digest: img.digest })).rejects.toMatchObject({
        code: 'HOST_NOT_ALLOWED',
        retryable: false,
        message: 'GET manifest: refusing to connect: 169.254.169.254 is not allowed by PROMOTER_ALLOWED_REGISTRIES=127.0.0.1:*,localhost:*',
      });
      proxy.addFault({
        method: 'GET',
        path: /^\/v2\/$/,
        fault: { kind: 'status', status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="https://169.254.169.254/token",service="registry"' } },
      });
      await expect(client.ping(proxy.host)).rejects.toMatchObject({
        code: 'HOST_NOT_ALLOWED',
        message: expect.stringContaining('token request: refusing to connect: 169.254.169.254 is not allowed'),
      });
      expect(Date.now() - t0).toBeLessThan(2000); // refused, not a connection attempt timing out
      // Even an operator allowing every host by wildcard does not reach the metadata service.
      const wide = new RegistryClient({ allowedRegistries: ['*:*', `${proxy.host}`] });
      proxy.addFault({ method: 'GET', path: /\/manifests\//, fault: { kind: 'redirect', status: 302, location: 'http://169.254.169.254/latest/meta-data/' } });
      await expect(wide.getManifest({ host: proxy.host, repository: `${prefix}/app`, digest: img.digest })).rejects.toMatchObject({
        code: 'HOST_NOT_ALLOWED',
        message: expect.stringContaining('169.254.169.254 is a cloud-metadata address'),
      });
      await client.transport.close();
      await wide.transport.close();
    } finally {
      await proxy.close();
    }
  });
});
