// What a hostile registry's answers may make the worker hold in memory. A proxy in front of staging
// serves a 4 GiB manifest (declared, then one without a length that never ends); a hostile
// registry serves a tag listing that never ends. Each is refused at its limit, naming the host and
// the limit, with little more than the limit read; nothing is promoted or signed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCI_DEFAULTS, RegistryClient } from '../../../lib/oci';
import { FaultProxy } from '../../support/fault-proxy';
import { HostileRegistry, json } from '../../support/hostile-registry';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { promote, seed, signed, stackOci } from './transport-harness';

const MiB = 1024 * 1024;
const s = stack();
const staging = s.registries.staging;
const mirrorA = s.registries.all.mirrorA;
const oci = stackOci();
let worker: TestWorker;
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await FaultProxy.start(staging);
  worker = await startTestWorker('sec-limits');
});
afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
});

async function settled(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('read limits against a hostile registry', () => {
  it('a 4 GiB source manifest is refused from its Content-Length: the edge fails TOO_LARGE, a few MiB at most went over the wire', async () => {
    const prefix = uniqueName('sec-huge-manifest');
    const big = await seed(oci, staging, `${prefix}/big`);
    const fine = await seed(oci, staging, `${prefix}/fine`);
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({
      method: 'GET',
      path: new RegExp(`/v2/${prefix}/big/manifests/${big.digest}$`),
      fault: { kind: 'huge', bytes: 4 * 1024 ** 3, declareLength: true },
      times: Infinity,
    });

    const { report } = await promote(
      worker.taskQueue,
      `${proxy.host}/${prefix}`,
      [`${mirrorA}/${prefix}`],
      [
        { name: 'big', digest: big.digest },
        { name: 'fine', digest: fine.digest },
      ],
    );

    expect(report.status).toBe('failed');
    expect(report.edges).toMatchObject({ promoted: 1, failed: 1 });
    expect(report.failures).toMatchObject([{ phase: 'promote', code: 'TOO_LARGE', edge: `${mirrorA}/${prefix}/big:v1@${big.digest}` }]);
    expect(report.failures[0]!.error).toBe(
      `GET manifest on ${proxy.host}/${prefix}/big: the answer is larger than the limit of ${OCI_DEFAULTS.readLimits.manifestBytes} bytes (Content-Length ${4 * 1024 ** 3}, not read); refused`,
    );
    // Refused, not retried: one read for the copy, and at most one more where Promote looks for an
    // index's children to carry their attestations; each refused from its Content-Length.
    const poured = proxy.requests.filter((r) => r.fault === 'huge');
    expect(poured.length).toBeGreaterThanOrEqual(1);
    expect(poured.length).toBeLessThanOrEqual(2);
    await settled(() => poured.every((p) => p.bytesSent !== undefined));
    for (const p of poured) expect(p.bytesSent).toBeLessThan(16 * MiB);
    expect(await oci.headManifest({ host: mirrorA, repository: `${prefix}/big`, digest: big.digest })).toBeUndefined();
    expect(await signed(oci, mirrorA, `${prefix}/big`, big.digest)).toBe(false);
    expect((await oci.headManifest({ host: mirrorA, repository: `${prefix}/fine`, tag: 'v1' }))?.digest).toBe(fine.digest);
  }, 300_000);

  it('a source manifest without a length that never ends is cut one byte past 4 MiB', async () => {
    const prefix = uniqueName('sec-endless-manifest');
    const img = await seed(oci, staging, `${prefix}/app`);
    proxy.clearFaults();
    proxy.clearRecords();
    proxy.addFault({ method: 'GET', path: /\/manifests\//, fault: { kind: 'huge', bytes: 4 * 1024 ** 3, declareLength: false } });
    const client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    await expect(client.getManifest({ host: proxy.host, repository: `${prefix}/app`, digest: img.digest })).rejects.toMatchObject({
      code: 'TOO_LARGE',
      retryable: false,
      registry: proxy.host,
      message: expect.stringContaining(`larger than the limit of ${4 * MiB} bytes (reading stopped at ${4 * MiB + 1} bytes)`),
    });
    const poured = proxy.requests.find((r) => r.fault === 'huge')!;
    await settled(() => poured.bytesSent !== undefined);
    expect(poured.bytesSent).toBeLessThan(16 * MiB);
    await client.transport.close();
  });

  it('a tag listing that never ends stops at its page limit (10,000 by default; 1,000 here to keep the test short)', async () => {
    const endless = await HostileRegistry.start();
    try {
      let page = 0;
      endless.answer((req, res) => json(res, 200, { name: 'app', tags: [`t${page}`] }, { Link: `</v2/app/tags/list?n=1&last=t${page++}>; rel="next"` }));
      expect(OCI_DEFAULTS.readLimits).toMatchObject({ tagPages: 10_000, tagListBytes: 64 * MiB });
      const client = new RegistryClient({ limits: { default: { requestsPerSecond: 5000, burst: 5000 } }, readLimits: { tagPages: 1000 } });
      const t0 = Date.now();
      await expect(client.listTags(endless.host, 'app')).rejects.toMatchObject({
        code: 'TOO_LARGE',
        retryable: false,
        message: `list tags on ${endless.host}/app: more than 1000 pages, past the client's limit; refused`,
      });
      expect(endless.requests).toHaveLength(1000);
      console.log(`1,000 tag pages read, then refused, in ${Date.now() - t0} ms`);
      await client.transport.close();
    } finally {
      await endless.close();
    }
  }, 120_000);
});
