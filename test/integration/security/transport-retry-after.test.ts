// A registry that answers "Retry-After: 86400" must not freeze the worker for a day. The worker
// honours a Retry-After up to its cap (PROMOTER_MAX_RETRY_AFTER, 3 s here; 10 minutes by default):
// the host is paused that long for everyone, the request asked to wait longer fails (retryably),
// and the run goes on. A proxy in front of mirror-a answers one manifest PUT so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../support/fault-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { promote, seed, signed, stackOci } from './transport-harness';

const CAP_S = 3;
const s = stack();
const mirrorA = s.registries.all.mirrorA;
const oci = stackOci();
let worker: TestWorker;
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await FaultProxy.start(mirrorA);
  worker = await startTestWorker('sec-retry-after', { PROMOTER_MAX_RETRY_AFTER: String(CAP_S) });
});
afterAll(async () => {
  await worker?.stop();
  await proxy?.close();
});

describe('Retry-After past the cap', () => {
  it('a day-long Retry-After pauses the host for the cap only and fails that edge; the rest goes on, and a rerun promotes it', async () => {
    const prefix = uniqueName('sec-retry-after');
    const slow = await seed(oci, s.registries.staging, `${prefix}/slow`);
    const others = await Promise.all(['a', 'b', 'c'].map(async (name) => ({ name, ...(await seed(oci, s.registries.staging, `${prefix}/${name}`)) })));
    proxy.addFault({ method: 'PUT', path: new RegExp(`/v2/${prefix}/slow/manifests/`), fault: { kind: 'status', status: 429, retryAfter: 86_400 } });
    const images = [{ name: 'slow', digest: slow.digest }, ...others.map((o) => ({ name: o.name, digest: o.digest }))];

    const t0 = Date.now();
    const { report } = await promote(worker.taskQueue, `${s.registries.staging}/${prefix}`, [`${proxy.host}/${prefix}`], images);
    const tookMs = Date.now() - t0;

    expect(report.status).toBe('failed');
    expect(report.edges).toMatchObject({ total: 4, promoted: 3, failed: 1 });
    expect(report.failures).toMatchObject([{ phase: 'promote', code: 'TOOMANYREQUESTS', edge: `${proxy.host}/${prefix}/slow:v1@${slow.digest}` }]);
    expect(report.failures[0]!.error).toContain(`asked to wait 86400 s, more than the ${CAP_S} s honoured`);
    expect(await signed(oci, mirrorA, `${prefix}/slow`, slow.digest)).toBe(false);
    for (const o of others) expect((await oci.headManifest({ host: mirrorA, repository: `${prefix}/${o.name}`, tag: 'v1' }))?.digest).toBe(o.digest);
    expect(tookMs).toBeLessThan(180_000);

    // The host was paused for the cap: apart from requests already on the wire (150 ms of slack),
    // nothing arrived until it had passed, and then the others' requests came again.
    const throttled = proxy.requests.find((r) => r.status === 429)!;
    const early = proxy.requests.filter((r) => r.at > throttled.respondedAt! + 150 && r.at < throttled.respondedAt! + CAP_S * 1000 - 10);
    expect(early.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(proxy.requests.some((r) => r.at >= throttled.respondedAt! + CAP_S * 1000 - 10)).toBe(true);
    console.log(`run with a Retry-After of 86400 s took ${tookMs} ms`);

    // Nothing stays frozen: the same manifests again promote what was left.
    const again = await promote(worker.taskQueue, `${s.registries.staging}/${prefix}`, [`${proxy.host}/${prefix}`], images);
    expect(again.report.status, JSON.stringify(again.report.failures)).toBe('succeeded');
    expect(again.report.edges).toMatchObject({ promoted: 1, alreadyPresent: 3 });
    expect((await oci.headManifest({ host: mirrorA, repository: `${prefix}/slow`, tag: 'v1' }))?.digest).toBe(slow.digest);
  }, 400_000);
});
