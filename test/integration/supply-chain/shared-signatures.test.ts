// Signatures somebody else adds while a run is under way are kept: after the Plan listed the
// destinations and before Sign, the real cosign signs an image already in place with another key,
// in both formats: a `.sig` layer at production (distribution 2.8, which ignores If-Match) and at
// mirror-a (olareg), and a bundle referrer in production's `sha256-<hex>` fallback index. The run
// is held in Promote by a proxy in front of staging that keeps another image's layer until cosign
// is done. Sign then merges into what the tags hold when it writes: cosign's signature and ours
// both verify, with cosign itself, in both formats.
import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { findCosign } from '../../support/cosign';
import { FaultProxy } from '../../support/fault-proxy';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack, uniqueName } from '../../support/stack-env';
import { cosignKeyPair, cosignSign, cosignVerify, countSignatures, referrersOf, registryClient, type CosignKeyPair } from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const s = stack();
const { staging, production, mirrorA } = s.registries.all;
const client = registryClient();
const prefix = uniqueName('sc-shared');
const ours = readFileSync(s.publicKeyPath, 'utf8');
const POLICY = 'signatures:\n  mode: off\nprovenance:\n  mode: off';

let worker: TestWorker;
let proxy: FaultProxy;
let theirs: CosignKeyPair;
let present: { repository: string; digest: string };
let report: RunReport;
let code: number;
let theirBundleReferrer: string | undefined;

const at = (host: string) => `${host}/${present.repository}@${present.digest}`;

describe.skipIf(!findCosign())('signatures cosign adds between Plan and Sign', () => {
  beforeAll(async () => {
    worker = await startTestWorker('sc-shared');
    proxy = await FaultProxy.start(staging);
    theirs = await cosignKeyPair(await mkdtemp(join(tmpdir(), 'promoter-theirs-')), 'theirs');
    const a = await pushRandomImage(client, staging, `${prefix}/present`, { seed: `${prefix}/present`, layers: 1, layerSize: 512 });
    present = { repository: `${prefix}/present`, digest: a.digest };
    // In place at both destinations before the run, unsigned: Sign signs it (and Promote leaves it alone).
    for (const host of [production, mirrorA])
      await copyImage(client, { host: staging, ...present }, { host, repository: present.repository }, { tags: ['v1'] });
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await proxy?.close();
  });

  it('the run, held in Promote while cosign signs, succeeds', async () => {
    const slow = await pushRandomImage(client, staging, `${prefix}/slow`, { seed: `${prefix}/slow`, layers: 1, layerSize: 2048 });
    const layer = slow.blobs.at(-1)!;
    let release!: () => void;
    proxy.addFault({
      method: 'GET',
      path: new RegExp(`/v2/${prefix}/slow/blobs/${layer}`),
      fault: { kind: 'hold', until: new Promise<void>((r) => (release = r)) },
      times: Infinity,
    });
    const manifest = await writePlainManifest(
      `${proxy.host}/${prefix}`,
      [production, mirrorA].map((d) => `${d}/${prefix}`),
      [
        { name: 'present', digest: present.digest },
        { name: 'slow', digest: slow.digest },
      ],
      { policy: POLICY },
    );
    const env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
    let started: Awaited<ReturnType<typeof runCli>>;
    try {
      started = await runCli(['run', '--manifest', manifest, '--confirm', '--json'], env);
      expect(started.code, started.stderr).toBe(0);
      // Promote asking for the held layer: the Plan has listed every destination.
      const deadline = Date.now() + 120_000;
      while (!proxy.requests.some((r) => r.fault === 'hold')) {
        if (Date.now() > deadline) throw new Error(`Promote never asked for the held layer: ${proxy.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await cosignSign(theirs, at(production), { legacy: true });
      await cosignSign(theirs, at(production));
      await cosignSign(theirs, at(mirrorA), { legacy: true });
      // Before Sign: cosign's signatures are there (a check that the race is really set up).
      const before = await countSignatures(client, production, present.repository, present.digest, readFileSync(theirs.pub, 'utf8'));
      expect(before).toMatchObject({ sigLayers: 1, sigLayersByKey: 1, signBundlesByKey: 1 });
      theirBundleReferrer = (await referrersOf(client, production, present.repository, present.digest))[0]?.digest;
      expect(theirBundleReferrer).toBeDefined();
      expect(await countSignatures(client, production, present.repository, present.digest, ours)).toMatchObject({ sigLayersByKey: 0, signBundlesByKey: 0 });
    } finally {
      release();
    }
    // The report of that very run, once it is finished (a `run` now would start another one).
    const { workflowId } = parseJsonOutput<{ workflowId: string }>(started);
    const until = Date.now() + 240_000;
    for (;;) {
      const r = await runCli(['report', workflowId, '--json'], env, 30_000);
      if (r.stdout.trim().startsWith('{')) {
        report = parseJsonOutput<RunReport>(r);
        code = r.code;
        break;
      }
      if (Date.now() > until) throw new Error(`run ${workflowId} did not finish: ${r.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(report.failures).toEqual([]);
    expect(report.status).toBe('succeeded');
    expect(code).toBe(0);
    expect(report.edges).toMatchObject({ total: 4, promoted: 2, alreadyPresent: 2, failed: 0 });
  }, 400_000);

  it("both keys' signatures are on the image at production and mirror-a, in each format cosign wrote, and cosign's referrer is still listed", async () => {
    expect(report, 'the run finished').toBeDefined();
    const their = readFileSync(theirs.pub, 'utf8');
    const prod = {
      ours: await countSignatures(client, production, present.repository, present.digest, ours),
      theirs: await countSignatures(client, production, present.repository, present.digest, their),
    };
    expect(prod.ours).toMatchObject({ sigLayers: 2, sigLayersByKey: 1, signBundlesByKey: 1 });
    expect(prod.theirs).toMatchObject({ sigLayers: 2, sigLayersByKey: 1, signBundlesByKey: 1 });
    expect((await referrersOf(client, production, present.repository, present.digest)).map((d) => d.digest)).toContain(theirBundleReferrer);
    const mirror = {
      ours: await countSignatures(client, mirrorA, present.repository, present.digest, ours),
      theirs: await countSignatures(client, mirrorA, present.repository, present.digest, their),
    };
    expect(mirror.ours).toMatchObject({ sigLayers: 2, sigLayersByKey: 1, signBundlesByKey: 1 });
    expect(mirror.theirs).toMatchObject({ sigLayers: 2, sigLayersByKey: 1 });
  }, 120_000);

  it('cosign verifies the image with either key: bundles and `.sig` at production, `.sig` at mirror-a', async () => {
    expect(report, 'the run finished').toBeDefined();
    const failed: string[] = [];
    for (const pub of [s.publicKeyPath, theirs.pub]) {
      for (const [host, legacy] of [
        [production, false],
        [production, true],
        [mirrorA, true],
      ] as const) {
        const r = await cosignVerify(pub, at(host), { legacy });
        if (r.code !== 0) failed.push(`${r.command}: ${r.stderr.trim().split('\n').pop()}`);
      }
    }
    expect(failed).toEqual([]);
  }, 180_000);
});
