// Redirects a hostile registry answers with. Production (basic auth) sits behind a proxy; as the
// source of a promotion it sends a blob to another host (followed, without credentials: that is how
// registries hand blobs to object storage) and a manifest to plain HTTP (refused: never from HTTPS
// to HTTP); as a destination it redirects a manifest PUT (an error: a write is never redirected).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage } from '../../../lib/oci';
import { FaultProxy } from '../../support/fault-proxy';
import { dockerConfigWithAliases, HostileRegistry, stackBasicAuthorization } from '../../support/hostile-registry';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { promote, seed, signed, stackOci, tempDir } from './transport-harness';

const s = stack();
const production = s.registries.production;
const mirrorA = s.registries.all.mirrorA;
const oci = stackOci();
const productionCredentials = stackBasicAuthorization(s.dockerConfigFile, production);
let worker: TestWorker;
let proxy: FaultProxy;
const hostiles: HostileRegistry[] = [];

beforeAll(async () => {
  proxy = await FaultProxy.start(production);
  // (The worker's registry client reads DOCKER_CONFIG from the process environment.)
  process.env.DOCKER_CONFIG = dockerConfigWithAliases(s.dockerConfigFile, await tempDir('docker-aliases'), { [proxy.host]: production });
  worker = await startTestWorker('sec-redirects');
});
afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
  for (const h of hostiles) await h.close();
});

async function hostile(tls: boolean): Promise<HostileRegistry> {
  const h = await HostileRegistry.start({ tls });
  hostiles.push(h);
  return h;
}

/** An image in production (the source of these promotions), with the bytes of its one layer. */
async function sourceImage(prefix: string) {
  const staged = await seed(oci, s.registries.staging, `${prefix}/app`);
  await copyImage(oci, { host: s.registries.staging, repository: `${prefix}/app`, digest: staged.digest }, { host: production, repository: `${prefix}/app` });
  const manifest = JSON.parse(
    new TextDecoder().decode((await oci.getManifest({ host: production, repository: `${prefix}/app`, digest: staged.digest })).bytes),
  ) as { layers: { digest: string }[] };
  const layer = manifest.layers[0]!.digest;
  return { digest: staged.digest, layer, layerBytes: await oci.getBlob(production, `${prefix}/app`, layer) };
}

describe('redirects from a hostile registry', () => {
  it('a source blob sent to another host is fetched there without credentials, verified, and promoted', async () => {
    const prefix = uniqueName('sec-redirect-blob');
    const src = await sourceImage(prefix);
    const storage = await hostile(true);
    storage.answer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(src.layerBytes.length) });
      res.end(src.layerBytes);
    });
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({
      method: 'GET',
      path: new RegExp(`/blobs/${src.layer}$`),
      fault: { kind: 'redirect', status: 307, location: `${storage.url}/bucket/${src.layer}?X-Signature=abc` },
      times: Infinity,
    });

    const { report } = await promote(worker.taskQueue, `${proxy.host}/${prefix}`, [`${mirrorA}/${prefix}`], [{ name: 'app', digest: src.digest }]);

    expect(report.status, JSON.stringify(report.failures)).toBe('succeeded');
    expect((await oci.headManifest({ host: mirrorA, repository: `${prefix}/app`, tag: 'v1' }))?.digest).toBe(src.digest);
    expect(await oci.headBlob(mirrorA, `${prefix}/app`, src.layer)).toBe(src.layerBytes.length);
    expect(storage.requests.map((r) => r.path)).toEqual([`/bucket/${src.layer}?X-Signature=abc`]);
    expect(storage.authorizations()).toEqual([]);
    expect(proxy.requests.some((r) => r.authorization === productionCredentials)).toBe(true);
  }, 300_000);

  it('a source manifest sent from HTTPS to plain HTTP is refused: the edge fails, nothing is asked there, nothing written or signed', async () => {
    const prefix = uniqueName('sec-redirect-downgrade');
    const src = await sourceImage(prefix);
    const plain = await hostile(false);
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({
      method: 'GET',
      path: new RegExp(`/manifests/${src.digest}$`),
      fault: { kind: 'redirect', status: 302, location: `${plain.url}/v2/${prefix}/app/manifests/${src.digest}` },
      times: Infinity,
    });

    const { report } = await promote(worker.taskQueue, `${proxy.host}/${prefix}`, [`${mirrorA}/${prefix}`], [{ name: 'app', digest: src.digest }]);

    expect(report.status).toBe('failed');
    expect(report.failures).toMatchObject([{ phase: 'promote', code: 'INSECURE', edge: `${mirrorA}/${prefix}/app:v1@${src.digest}` }]);
    expect(report.failures[0]!.error).toContain(`to ${plain.url}: refusing a redirect from HTTPS to plain HTTP`);
    expect(plain.requests).toEqual([]);
    expect(await oci.headManifest({ host: mirrorA, repository: `${prefix}/app`, digest: src.digest })).toBeUndefined();
    expect(await oci.listTags(mirrorA, `${prefix}/app`)).toEqual([]);
    expect(report.signatures.signed).toBe(0);
  }, 300_000);

  it('a manifest PUT answered with a redirect is an error, not a success: no tag, nothing sent where it points, nothing signed', async () => {
    const prefix = uniqueName('sec-redirect-put');
    const img = await seed(oci, s.registries.staging, `${prefix}/app`);
    const elsewhere = await hostile(true);
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({
      method: 'PUT',
      path: new RegExp(`/v2/${prefix}/app/manifests/`),
      fault: { kind: 'redirect', status: 307, location: `${elsewhere.url}/v2/${prefix}/app/manifests/v1` },
      times: Infinity,
    });

    const { report } = await promote(worker.taskQueue, `${s.registries.staging}/${prefix}`, [`${proxy.host}/${prefix}`], [{ name: 'app', digest: img.digest }]);

    expect(report.status).toBe('failed');
    expect(report.failures).toMatchObject([{ phase: 'promote', code: 'REDIRECT_REFUSED' }]);
    expect(report.failures[0]!.error).toContain('answered 307 to a PUT, a write; writes are never redirected');
    expect(elsewhere.requests).toEqual([]);
    expect(await oci.headManifest({ host: production, repository: `${prefix}/app`, tag: 'v1' })).toBeUndefined();
    expect(await oci.headManifest({ host: production, repository: `${prefix}/app`, digest: img.digest })).toBeUndefined();
    expect(await signed(oci, production, `${prefix}/app`, img.digest)).toBe(false);
    expect(report.signatures.signed).toBe(0);
  }, 300_000);
});
