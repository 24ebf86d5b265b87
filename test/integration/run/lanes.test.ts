// Promotion lanes on the dev stack: two confirmed bundles started together that write the same new
// tags into the same repositories promote one after the other (the second waits, and `promoter
// status` says for which lane and behind which run), every tag is written exactly once, and the
// second run finds one tag at its own digest in place and refuses to move the other (TAG_MOVE).
// Two bundles with no destination host in common are not held up by each other.
// A proxy in front of mirror-a counts the tag writes and slows them, so that Promote lasts long
// enough for a user to look.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy, type RecordedRequest } from '../../support/fault-proxy';
import { writePlainManifest } from '../../support/plain-manifest';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

/** How long the proxy holds each tag write: the holder's Promote lasts at least this long. */
const TAG_WRITE_DELAY_MS = 10_000;

let worker: TestWorker;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  worker = await startTestWorker('lanes');
});
afterAll(async () => {
  await worker?.stop();
  for (const p of proxies) await p.close();
});

const env = () => ({ PROMOTER_TASK_QUEUE: worker.taskQueue });

async function slowProxy(prefix: string): Promise<FaultProxy> {
  const proxy = await FaultProxy.start(stack().registries.all.mirrorA);
  proxies.push(proxy);
  proxy.addFault({
    method: 'PUT',
    path: new RegExp(`^/v2/${prefix}/[^/]+/manifests/(?!sha256)`),
    fault: { kind: 'delay', ms: TAG_WRITE_DELAY_MS },
    times: Infinity,
  });
  return proxy;
}

async function startRun(manifest: string): Promise<string> {
  const r = await runCli(['run', '--manifest', manifest, '--confirm', '--json'], env());
  expect(r.code, r.stderr).toBe(0);
  return parseJsonOutput<{ workflowId: string }>(r).workflowId;
}

/** Asks `promoter status` until the run is over; returns every "waiting for lane" line it printed. */
async function watch(workflowId: string): Promise<string[]> {
  const waits: string[] = [];
  const end = Date.now() + 240_000;
  while (Date.now() < end) {
    const r = await runCli(['status', workflowId], env());
    const text = r.stdout;
    waits.push(...text.split('\n').filter((l) => l.startsWith('waiting for lane')));
    if (!text.includes(': running, phase')) return waits;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${workflowId} did not finish`);
}

async function report(workflowId: string): Promise<RunReport> {
  return parseJsonOutput<RunReport>(await runCli(['report', workflowId, '--json'], env()));
}

const tagWrites = (p: FaultProxy, path: string): RecordedRequest[] => p.requests.filter((q) => q.method === 'PUT' && q.path === path);

describe('promotion lanes', () => {
  it('two bundles writing the same new tags promote one after the other: one write per tag, the second finds one in place and refuses to move the other', async () => {
    const s = stack();
    const prefix = uniqueName('lanes');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const [ours, theirs, base] = await Promise.all([
      pushRandomImage(oci, s.registries.staging, `${prefix}/app`, { seed: `${prefix}/ours` }),
      pushRandomImage(oci, s.registries.staging, `${prefix}/app`, { seed: `${prefix}/theirs` }),
      pushRandomImage(oci, s.registries.staging, `${prefix}/base`, { seed: `${prefix}/base` }),
    ]);
    const proxy = await slowProxy(prefix);
    const destinations = [`${s.registries.production}/${prefix}`, `${proxy.host}/${prefix}`];
    // Same repositories, same tags: app:v1 at two different digests, base:stable at the same one.
    const bundle = (app: string) =>
      writePlainManifest(`${s.registries.staging}/${prefix}`, destinations, [
        { name: 'app', digest: app, tags: ['v1'] },
        { name: 'base', digest: base.digest, tags: ['stable'] },
      ]);
    const manifests = await Promise.all([bundle(ours.digest), bundle(theirs.digest)]);

    const ids = await Promise.all(manifests.map(startRun));
    const waits = await Promise.all(ids.map(watch));
    const reports = await Promise.all(ids.map(report));

    const first = reports.findIndex((r) => r.status === 'succeeded');
    expect(first, JSON.stringify(reports.map((r) => [r.status, r.edges]))).toBeGreaterThanOrEqual(0);
    const second = 1 - first;
    const winner = first === 0 ? ours : theirs;
    const loser = first === 0 ? theirs : ours;
    expect(reports[first]!.edges).toMatchObject({ total: 4, promoted: 4, alreadyPresent: 0, tagMoves: 0, failed: 0 });
    expect(reports[second]!.status).toBe('failed');
    expect(reports[second]!.edges).toMatchObject({ total: 4, promoted: 0, alreadyPresent: 2, tagMoves: 2, failed: 2 });
    expect(reports[second]!.failures.map((f) => `${f.code} ${f.edge}`).sort()).toEqual(destinations.map((d) => `TAG_MOVE ${d}/app:v1@${loser.digest}`).sort());

    // The second run waited, said so while it lasted, behind the first; the first never waited.
    expect(waits[first]).toEqual([]);
    expect(waits[second]!.length).toBeGreaterThan(0);
    expect(
      waits[second]!.every((l) => new RegExp(`^waiting for lane 127\\.0\\.0\\.1:\\d+ held by ${ids[first]} \\(since `).test(l)),
      waits[second]!.join('\n'),
    ).toBe(true);

    // Each tag written once, by the first run, and where it put it.
    expect(tagWrites(proxy, `/v2/${prefix}/app/manifests/v1`)).toHaveLength(1);
    expect(tagWrites(proxy, `/v2/${prefix}/base/manifests/stable`)).toHaveLength(1);
    for (const d of [`${s.registries.production}/${prefix}`, `${s.registries.all.mirrorA}/${prefix}`]) {
      expect(await skopeoDigest(`${d}/app:v1`)).toBe(winner.digest);
      expect(await skopeoDigest(`${d}/base:stable`)).toBe(base.digest);
    }
  }, 300_000);

  it('two bundles with no destination host in common promote at the same time', async () => {
    const s = stack();
    const prefix = uniqueName('lanes-apart');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const [one, two] = await Promise.all(['one', 'two'].map((n) => pushRandomImage(oci, s.registries.staging, `${prefix}/${n}`, { seed: `${prefix}/${n}` })));
    // Two proxies in front of mirror-a: two hosts, two lanes.
    const [p1, p2] = [await slowProxy(prefix), await slowProxy(prefix)];
    const manifests = await Promise.all([
      writePlainManifest(`${s.registries.staging}/${prefix}`, [`${p1.host}/${prefix}`], [{ name: 'one', digest: one!.digest }]),
      writePlainManifest(`${s.registries.staging}/${prefix}`, [`${p2.host}/${prefix}`], [{ name: 'two', digest: two!.digest }]),
    ]);
    const ids = await Promise.all(manifests.map(startRun));
    const waits = await Promise.all(ids.map(watch));
    for (const r of await Promise.all(ids.map(report))) expect(r.edges).toMatchObject({ promoted: 1, failed: 0 });
    expect(waits).toEqual([[], []]);
    // Each tag write took TAG_WRITE_DELAY_MS at its proxy; the two were held at the same time.
    const [w1, w2] = [tagWrites(p1, `/v2/${prefix}/one/manifests/v1`), tagWrites(p2, `/v2/${prefix}/two/manifests/v1`)];
    expect([w1.length, w2.length]).toEqual([1, 1]);
    expect(w1[0]!.at).toBeLessThan(w2[0]!.respondedAt!);
    expect(w2[0]!.at).toBeLessThan(w1[0]!.respondedAt!);
  }, 300_000);
});
