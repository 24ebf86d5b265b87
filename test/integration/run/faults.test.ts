// Faults a real registry will not make on demand, injected by a proxy in front of the real ones:
// a 429 storm with Retry-After, 503s, connection resets and one corrupted blob. The run must finish
// every healthy edge, fail only the corrupted image's edges with DIGEST_MISMATCH, and never send a
// request again before the registry's Retry-After has passed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { writePlainManifest } from '../../support/plain-manifest';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

let worker: TestWorker;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  worker = await startTestWorker('faults');
});
afterAll(async () => {
  await worker?.stop();
  for (const p of proxies) await p.close();
});

describe('promotion through injected faults', () => {
  it('completes every healthy edge; the corrupted image fails with DIGEST_MISMATCH; Retry-After is honoured', async () => {
    const s = stack();
    const prefix = uniqueName('faults');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const names = ['one', 'two', 'three', 'four', 'bad'];
    const images = await Promise.all(
      names.map(async (name) => ({
        name,
        ...(await pushRandomImage(oci, s.registries.staging, `${prefix}/${name}`, { seed: `${prefix}/${name}`, layers: 2, layerSize: 4096 })),
      })),
    );
    const bad = images.find((i) => i.name === 'bad')!;
    const badLayer = bad.blobs.at(-1)!;

    const staging = await FaultProxy.start(s.registries.staging);
    const mirror = await FaultProxy.start(s.registries.all.mirrorA);
    proxies.push(staging, mirror);
    // Every read of one layer of "bad" comes back with a byte flipped, retries included.
    staging.addFault({ method: 'GET', path: new RegExp(`/blobs/${badLayer}`), fault: { kind: 'corrupt' }, times: Infinity });
    // The mirror is having a bad day: a 429 storm on its inventory reads and manifests, 503s on
    // uploads and reset connections. (The copy sends no manifest HEAD to a destination whose
    // inventory Plan has read, so the storm starts at the inventory.)
    mirror.addFault({ method: 'GET', path: /\/tags\/list/, fault: { kind: 'status', status: 429, retryAfter: 1, code: 'TOOMANYREQUESTS' }, times: 3 });
    mirror.addFault({ method: 'POST', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 503, retryAfter: 1 }, times: 2 });
    mirror.addFault({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'reset' }, times: 2 });
    mirror.addFault({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 429, retryAfter: 1 }, times: 2 });

    const manifest = await writePlainManifest(`${staging.host}/${prefix}`, [`${s.registries.production}/${prefix}`, `${mirror.host}/${prefix}`], images);
    const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue }, 240_000);
    const report = parseJsonOutput<RunReport>(r);

    expect(report.status).toBe('failed');
    expect(report.edges).toMatchObject({ total: 10, promoted: 8, failed: 2, lost: 0, tagMoves: 0 });
    expect(report.failures.map((f) => `${f.code} ${f.edge}`).sort()).toEqual(
      [`DIGEST_MISMATCH ${s.registries.production}/${prefix}/bad:v1@${bad.digest}`, `DIGEST_MISMATCH ${mirror.host}/${prefix}/bad:v1@${bad.digest}`].sort(),
    );
    // Healthy edges landed, byte-exact (skopeo reads the real registry behind the proxy).
    for (const i of images.filter((x) => x.name !== 'bad')) {
      expect(await skopeoDigest(`${s.registries.production}/${prefix}/${i.name}:v1`)).toBe(i.digest);
      expect(await skopeoDigest(`${s.registries.all.mirrorA}/${prefix}/${i.name}:v1`)).toBe(i.digest);
    }
    // The corrupted image was never committed, let alone tagged.
    expect(await skopeoDigest(`${s.registries.production}/${prefix}/bad:v1`)).toBeUndefined();
    expect(await oci.headBlob(s.registries.production, `${prefix}/bad`, badLayer)).toBeUndefined();

    // Every fault fired. After each Retry-After answer the client paused the whole host: apart from
    // requests already on the wire when the answer went out (150 ms of slack), nothing arrived at
    // the mirror until the second had passed, and the refused request itself came back later.
    const throttled = mirror.requests.filter((q) => q.status === 429 || q.status === 503);
    expect(throttled.length).toBe(7);
    expect(mirror.requests.filter((q) => q.fault === 'reset').length).toBe(2);
    for (const t of throttled) {
      const early = mirror.requests.filter((q) => q.at > t.respondedAt! + 150 && q.at < t.respondedAt! + 990);
      expect(
        early.map((q) => `${q.method} ${q.path} +${q.at - t.respondedAt!}ms`),
        `after ${t.status} to ${t.method} ${t.path}`,
      ).toEqual([]);
      expect(mirror.requests.some((q) => q.at >= t.respondedAt! + 990 && q.method === t.method && q.path === t.path)).toBe(true);
    }
  }, 300_000);
});
