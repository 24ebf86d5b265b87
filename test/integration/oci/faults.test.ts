// Fault injection: a proxy in front of the real registries produces the 429s,
// 503s, resets, stalls and corrupted bodies that real registries produce only
// under load, and records when each request arrived.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyImage, isOciError, type RegistryClient } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { FaultProxy, type RecordedRequest } from '../../support/fault-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { skopeoRawDigest, stackClient, statsSince } from './helpers';

let client: RegistryClient;
let staging: string, mirrorA: string, mirrorB: string;
const proxies: FaultProxy[] = [];

async function proxy(target: string): Promise<FaultProxy> {
  const p = await FaultProxy.start(target);
  proxies.push(p);
  return p;
}

beforeAll(() => {
  client = stackClient();
  ({ staging, mirrorA, mirrorB } = stack().registries.all);
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** Every request recorded after a throttling answer arrived no earlier than its Retry-After allowed. */
function assertRetryAfterHonoured(records: RecordedRequest[], pauseMs: (r: RecordedRequest) => number | undefined): number {
  let checked = 0;
  records.forEach((r, i) => {
    const ms = pauseMs(r);
    if (ms === undefined) return;
    checked++;
    for (const later of records.slice(i + 1))
      expect(later.at, `${later.method} ${later.path} arrived inside the Retry-After window`).toBeGreaterThanOrEqual(r.respondedAt! + ms);
  });
  return checked;
}

describe('faults between client and registry', () => {
  it('copyImage completes through 429s, 503s and connection resets, byte for byte', async () => {
    const repo = uniqueName('oci/faulty');
    const img = await pushRandomImage(client, staging, repo, { tag: 'src', layers: 3, layerSize: 200_000, platforms: ['linux/amd64', 'linux/arm64'] });
    const dst = await proxy(mirrorA);
    dst.addFault({ method: 'HEAD', path: /\/manifests\//, fault: { kind: 'status', status: 503 } });
    dst.addFault({ method: 'HEAD', path: /\/blobs\//, fault: { kind: 'reset' }, skip: 1 });
    dst.addFault({ method: 'POST', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 429, retryAfter: 1 } });
    dst.addFault({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'reset' }, skip: 2 });
    dst.addFault({ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 503, retryAfter: 0 } });
    dst.addFault({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 500 }, times: 2 });
    dst.addFault({ method: 'PUT', path: /\/manifests\/v1$/, fault: { kind: 'reset' } });

    const before = client.stats();
    const r = await copyImage(client, { host: staging, repository: repo, digest: img.digest }, { host: dst.host, repository: repo }, { tags: ['v1'] });
    expect(r).toMatchObject({ manifests: 3, blobsUploaded: 8, tagsWritten: ['v1'] });
    // every scripted fault fired
    expect(
      dst.requests
        .filter((q) => q.fault)
        .map((q) => `${q.method}:${q.fault}:${q.status ?? '-'}`)
        .sort(),
    ).toEqual(
      ['HEAD:reset:-', 'HEAD:status:503', 'PATCH:reset:-', 'POST:status:429', 'PUT:reset:-', 'PUT:status:500', 'PUT:status:500', 'PUT:status:503'].sort(),
    );
    expect(statsSince(client, before)[dst.host]!.retries).toBeGreaterThanOrEqual(7);
    expect(statsSince(client, before)[dst.host]!.throttled).toBe(1);
    // read back from the real registry, not through the proxy
    expect(await skopeoRawDigest(`${mirrorA}/${repo}:v1`)).toBe(img.digest);
    for (const c of img.children) expect(await skopeoRawDigest(`${mirrorA}/${repo}@${c.digest}`)).toBe(c.digest);
  });

  it('sends no request to a host before its Retry-After (seconds or HTTP date) has passed', async () => {
    const repo = uniqueName('oci/retry-after');
    const img = await pushRandomImage(client, staging, repo, { layers: 2, layerSize: 5000 });
    const dst = await proxy(mirrorA);
    dst.addFault({ method: 'HEAD', path: /\/manifests\//, fault: { kind: 'status', status: 429, retryAfter: 1 } });
    const until = new Date(Date.now() + 2500);
    dst.addFault({ method: 'POST', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 503, retryAfter: until.toUTCString() }, skip: 1 });
    await copyImage(client, { host: staging, repository: repo, digest: img.digest }, { host: dst.host, repository: repo }, { concurrency: 1 });
    const checked = assertRetryAfterHonoured(dst.requests, (r) => {
      if (r.status === 429) return 1000;
      // an HTTP date has whole seconds: the pause ends at the date itself
      if (r.status === 503) return Math.floor(until.getTime() / 1000) * 1000 - r.respondedAt!;
      return undefined;
    });
    expect(checked).toBe(2);
    expect(await skopeoRawDigest(`${mirrorA}/${repo}@${img.digest}`)).toBe(img.digest);
  });

  it('with concurrent requests in flight, the host stays paused for everyone', async () => {
    const repo = uniqueName('oci/retry-after-concurrent');
    const img = await pushRandomImage(client, staging, repo, { layers: 6, layerSize: 2000 });
    const dst = await proxy(mirrorA);
    // The first blob HEAD is throttled; five more HEADs run in parallel with it.
    dst.addFault({ method: 'HEAD', path: /\/blobs\//, fault: { kind: 'status', status: 429, retryAfter: 1 } });
    await copyImage(client, { host: staging, repository: repo, digest: img.digest }, { host: dst.host, repository: repo }, { concurrency: 6 });
    const i = dst.requests.findIndex((r) => r.status === 429);
    const t = dst.requests[i]!.respondedAt!;
    // Requests already on the wire when the 429 left may still land a moment later; nothing
    // sent after the client saw it may arrive before the pause ends.
    const inside = dst.requests.filter((r) => r.at > t + 50 && r.at < t + 1000);
    expect(inside).toEqual([]);
    expect(dst.requests.some((r) => r.at >= t + 1000)).toBe(true);
  });

  it('a 429 from one registry does not slow requests to another', async () => {
    const repo = uniqueName('oci/isolation');
    const img = await pushRandomImage(client, staging, repo, { layerSize: 100, tag: 'v1' });
    const slow = await proxy(staging);
    slow.addFault({ method: 'HEAD', path: /\/manifests\//, fault: { kind: 'status', status: 429, retryAfter: 2 } });
    const started = Date.now();
    const throttled = client.headManifest({ host: slow.host, repository: repo, tag: 'v1' });
    while (!slow.requests.some((r) => r.status === 429)) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    expect((await client.headManifest({ host: staging, repository: repo, tag: 'v1' }))?.digest).toBe(img.digest);
    await client.ping(mirrorB);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await throttled)?.digest).toBe(img.digest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  it('a Retry-After longer than the client honours surfaces at once as a retryable error carrying the delay', async () => {
    const p = await proxy(staging);
    p.addFault({ method: 'GET', path: /^\/v2\/$/, fault: { kind: 'status', status: 429, retryAfter: 120 } });
    const t0 = Date.now();
    const capped = stackClient({ retry: { maxRetryAfterMs: 60_000 } });
    await expect(capped.ping(p.host)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', retryable: true, retryAfterMs: 120_000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(p.requests).toHaveLength(1);
  });

  it('a stalled response times out and is retried', async () => {
    const repo = uniqueName('oci/stall');
    const img = await pushRandomImage(client, staging, repo, { layerSize: 100, tag: 'v1' });
    const p = await proxy(staging);
    p.addFault({ method: 'HEAD', path: /\/manifests\//, fault: { kind: 'delay', ms: 1500 } });
    const impatient = stackClient({ timeoutMs: 300 });
    expect((await impatient.headManifest({ host: p.host, repository: repo, tag: 'v1' }))?.digest).toBe(img.digest);
    expect(impatient.stats()[p.host]).toMatchObject({ total: 2, retries: 1 });
  });
});

describe('corrupted content', () => {
  for (const [name, layerSize] of [
    ['small (one PUT)', 10_000],
    ['large (chunked PATCH)', 400_000],
  ] as const) {
    it(`a flipped byte in a ${name} source blob yields DIGEST_MISMATCH and nothing is committed`, async () => {
      const repo = uniqueName('oci/corrupt');
      const img = await pushRandomImage(client, staging, repo, { layers: 1, layerSize });
      const manifest = JSON.parse(new TextDecoder().decode((await client.getManifest({ host: staging, repository: repo, digest: img.digest })).bytes)) as {
        layers: Array<{ digest: string }>;
      };
      const layer = manifest.layers[0]!.digest;
      const src = await proxy(staging);
      src.addFault({ method: 'GET', path: new RegExp(`/blobs/${layer}$`), fault: { kind: 'corrupt' }, times: Infinity });

      let err: unknown;
      try {
        await copyImage(client, { host: src.host, repository: repo, digest: img.digest }, { host: mirrorB, repository: repo }, { tags: ['v1'] });
      } catch (e) {
        err = e;
      }
      expect(isOciError(err, 'DIGEST_MISMATCH')).toBe(true);
      expect(src.requests.some((r) => r.fault === 'corrupt')).toBe(true);
      expect(await client.headBlob(mirrorB, repo, layer)).toBeUndefined();
      expect(await client.headManifest({ host: mirrorB, repository: repo, digest: img.digest })).toBeUndefined();
      expect(await client.headManifest({ host: mirrorB, repository: repo, tag: 'v1' })).toBeUndefined();
      expect(await client.listTags(mirrorB, repo)).toEqual([]);
    });
  }

  it('a corrupted manifest is refused when fetched by digest', async () => {
    const repo = uniqueName('oci/corrupt-manifest');
    const img = await pushRandomImage(client, staging, repo, { layerSize: 100 });
    const p = await proxy(staging);
    p.addFault({ method: 'GET', path: /\/manifests\//, fault: { kind: 'corrupt', offset: 10 } });
    await expect(client.getManifest({ host: p.host, repository: repo, digest: img.digest })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
