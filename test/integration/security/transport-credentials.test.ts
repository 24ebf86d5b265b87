// A registry's answers never choose where its credentials go. Production (basic auth) sits behind
// a proxy that points the worker at a hostile host: a tag page Link, an upload Location whose host
// then answers 401 with a token realm of its own. The hostile host records every Authorization
// header it gets: none may be production's, or anyone's. And a client certificate goes only to
// the host whose certs.d folder holds it, whatever a redirect says.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, sha256Digest } from '../../../lib/oci';
import { issueServerCertificate, tlsFiles } from '../../../scripts/dev/stack/tls';
import { FaultProxy } from '../../support/fault-proxy';
import { dockerConfigWithAliases, HostileRegistry, json, stackBasicAuthorization } from '../../support/hostile-registry';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { promote, seed, signed, stackOci, tempDir } from './transport-harness';

const s = stack();
const production = s.registries.production;
let worker: TestWorker;
let proxy: FaultProxy;
const hostiles: HostileRegistry[] = [];
const oci = stackOci();
const productionCredentials = stackBasicAuthorization(s.dockerConfigFile, production);

async function hostile(opts: Parameters<typeof HostileRegistry.start>[0] = { tls: true }): Promise<HostileRegistry> {
  const h = await HostileRegistry.start(opts);
  hostiles.push(h);
  return h;
}

beforeAll(async () => {
  proxy = await FaultProxy.start(production);
  // The worker knows the proxy by production's credentials, as it would know production itself.
  // (The worker's registry client reads DOCKER_CONFIG from the process environment.)
  process.env.DOCKER_CONFIG = dockerConfigWithAliases(s.dockerConfigFile, await tempDir('docker-aliases'), { [proxy.host]: production });
  worker = await startTestWorker('sec-credentials');
});
afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  for (const h of hostiles) await h.close();
});

describe('credentials stay with their registry', () => {
  it('a tag page Link to another host is followed without production credentials; the promotion completes', async () => {
    const prefix = uniqueName('sec-link');
    const img = await seed(oci, s.registries.staging, `${prefix}/app`);
    await seed(oci, production, `${prefix}/app`, 'earlier'); // the repository exists, so its tag listing is read
    const other = await hostile();
    other.answer((req, res) => json(res, 200, { name: `${prefix}/app`, tags: [] }));
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({
      method: 'GET',
      path: new RegExp(`/v2/${prefix}/app/tags/list`),
      fault: { kind: 'link', link: `<${other.url}/v2/${prefix}/app/tags/list?last=earlier>; rel="next"` },
      times: Infinity,
    });

    const { report } = await promote(worker.taskQueue, `${s.registries.staging}/${prefix}`, [`${proxy.host}/${prefix}`], [{ name: 'app', digest: img.digest }]);

    expect(report.status, JSON.stringify(report.failures)).toBe('succeeded');
    expect(report.edges).toMatchObject({ promoted: 1, failed: 0 });
    expect((await oci.headManifest({ host: production, repository: `${prefix}/app`, tag: 'v1' }))?.digest).toBe(img.digest);
    // The attack happened: the worker read the foreign page. It got no credential with it.
    expect(other.requests.filter((r) => r.path.includes('/tags/list')).length).toBeGreaterThan(0);
    expect(other.authorizations()).toEqual([]);
    // Production itself did get its credentials (the proxy passed them on).
    expect(proxy.requests.some((r) => r.authorization === productionCredentials)).toBe(true);
  }, 300_000);

  it("an upload Location on another host that answers 401 with its own token realm: the edge fails, the realm is never asked, production's credentials are not changed or sent", async () => {
    const prefix = uniqueName('sec-location');
    const img = await seed(oci, s.registries.staging, `${prefix}/app`);
    const good = await seed(oci, s.registries.staging, `${prefix}/good`);
    const other = await hostile();
    other.answer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/token')) return json(res, 200, { token: 'attacker-token' });
      json(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'log in here' }] },
        { 'WWW-Authenticate': `Bearer realm="${other.url}/token",service="evil",scope="repository:${prefix}/app:push"` },
      );
    });
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({
      method: 'POST',
      path: new RegExp(`/v2/${prefix}/app/blobs/uploads/`),
      fault: { kind: 'status', status: 202, headers: { Location: `${other.url}/upload/${prefix}` } },
      times: Infinity,
    });

    const { report } = await promote(
      worker.taskQueue,
      `${s.registries.staging}/${prefix}`,
      [`${proxy.host}/${prefix}`],
      [
        { name: 'app', digest: img.digest },
        { name: 'good', digest: good.digest },
      ],
    );

    expect(report.status).toBe('failed');
    expect(report.edges).toMatchObject({ promoted: 1, failed: 1 });
    const failure = report.failures.find((f) => f.edge.includes(`${prefix}/app:`));
    expect(failure).toMatchObject({ phase: 'promote', code: 'UNAUTHORIZED' });
    expect(failure?.error).toContain(`answered by ${other.host}`);
    // Nothing of the refused image at production, nothing signed; the other image went through,
    // with production's own credentials, so they were not replaced by the foreign challenge.
    expect(await oci.headManifest({ host: production, repository: `${prefix}/app`, digest: img.digest })).toBeUndefined();
    expect(await signed(oci, production, `${prefix}/app`, img.digest)).toBe(false);
    expect((await oci.headManifest({ host: production, repository: `${prefix}/good`, tag: 'v1' }))?.digest).toBe(good.digest);
    expect(other.requests.map((r) => r.path).filter((p) => p.startsWith('/token'))).toEqual([]);
    expect(other.requests.length).toBeGreaterThan(0);
    expect(other.authorizations()).toEqual([]);
  }, 300_000);

  it('a client certificate goes only to its own host: a redirect to another host gets none', async () => {
    const certs = await tempDir('certs-d');
    const home = await hostile({ tls: true, requestCert: true, certsDir: certs });
    const storage = await hostile({ tls: true, requestCert: true, certsDir: certs });
    // The client certificate for `home`, in its certs.d folder (the containers/Docker layout).
    mkdirSync(join(certs, home.host), { recursive: true });
    issueServerCertificate({
      caKey: tlsFiles.caKey,
      caCert: tlsFiles.caCert,
      hosts: ['promoter-client'],
      extendedKeyUsage: 'clientAuth',
      keyOut: join(certs, home.host, 'client.key'),
      certOut: join(certs, home.host, 'client.cert'),
    });
    writeFileSync(join(certs, home.host, 'ca.crt'), readFileSync(tlsFiles.caCert));
    const blob = new TextEncoder().encode('a config blob');
    const digest = sha256Digest(blob);
    home.answer((req, res) => {
      res.writeHead(307, { Location: `${storage.url}/objects/${digest}`, 'Content-Length': '0' });
      res.end();
    });
    storage.answer((req, res) => {
      res.writeHead(200, { 'Content-Length': String(blob.length) });
      res.end(blob);
    });
    const client = new RegistryClient({ certsDirs: [certs] });
    expect(await client.getBlob(home.host, 'app', digest)).toEqual(blob);
    expect(home.requests.map((r) => r.clientCertificate)).toEqual([true]);
    expect(storage.requests.map((r) => r.clientCertificate)).toEqual([false]);
    await client.transport.close();
  });
});
