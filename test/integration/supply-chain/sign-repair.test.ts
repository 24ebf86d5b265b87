// Sign repair (kpromo#1946): images already in production but never signed (copied there by
// hand) are found `present` by the plan, signed by the next confirmed run, and never signed twice.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import type { RunReport } from '../../../lib/run/report';
import { findCosign } from '../../support/cosign';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cosignKeyPair,
  cosignSign,
  countSignatures,
  countsPerImage,
  cosignVerify,
  getManifestJson,
  referrersOf,
  manifestsSigned,
  promote,
  registryClient,
  tagOf,
  writeManifest,
} from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const s = stack();
const { staging, production, mirrorA } = s.registries.all;
const client = registryClient();
const prefix = uniqueName('sc-repair');
const ours = readFileSync(s.publicKeyPath, 'utf8');

let worker: TestWorker;
let manifest: string;
/** Every digest to be signed: single, and the multi-arch index with its two children. */
let targets: { repository: string; digest: string }[];
let single: { repository: string; digest: string };
let multi: { repository: string; digest: string };
let first: { code: number; report: RunReport };

/** What a registry holds for the signatures of each digest: `.sig` manifest digest and the referrers' digests. */
async function signatureState(host: string) {
  const out: Record<string, { sig?: string; referrers: string[] }> = {};
  for (const t of targets) {
    const sig = await getManifestJson(client, host, t.repository, { tag: tagOf(t.digest, '.sig') });
    const referrers = (await referrersOf(client, host, t.repository, t.digest)).map((d) => d.digest).sort();
    out[t.digest] = { sig: sig?.digest, referrers };
  }
  return out;
}

describe('sign repair: present but unsigned digests', () => {
  beforeAll(async () => {
    worker = await startTestWorker('sc-repair');
    const a = await pushRandomImage(client, staging, `${prefix}/single`, { seed: `${prefix}/single`, layers: 1, layerSize: 1024 });
    const m = await pushRandomImage(client, staging, `${prefix}/multi`, {
      seed: `${prefix}/multi`,
      layers: 1,
      layerSize: 512,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    single = { repository: `${prefix}/single`, digest: a.digest };
    multi = { repository: `${prefix}/multi`, digest: m.digest };
    targets = [single, multi, ...m.children.map((c) => ({ repository: multi.repository, digest: c.digest }))];
    // By hand, outside the promoter: in production, tagged, with no signature at all.
    for (const img of [single, multi]) {
      await copyImage(client, { host: staging, ...img }, { host: production, repository: img.repository }, { tags: ['v1'] });
    }
    manifest = await writeManifest({
      prefix,
      destinations: [production, mirrorA],
      policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
      images: [
        { name: 'single', digest: single.digest },
        { name: 'multi', digest: multi.digest },
      ],
    });
  }, 120_000);
  afterAll(async () => worker?.stop());

  it('before: production holds the images, unsigned', async () => {
    for (const t of targets) {
      expect(await skopeoDigest(`${production}/${t.repository}@${t.digest}`)).toBe(t.digest);
      expect(await countSignatures(client, production, t.repository, t.digest, ours)).toMatchObject({ sigLayers: 0, signBundles: 0, allBundles: 0 });
    }
  });

  it('a confirmed run signs what it found present and unsigned (index and children), once, in both formats', async () => {
    first = await promote(manifest, worker.taskQueue);
    const { code, report } = first;
    expect(report.failures).toEqual([]);
    expect(report.status).toBe('succeeded');
    expect(code).toBe(0);
    // production: 2 present; mirror-a: 2 promoted
    expect(report.edges).toMatchObject({ total: 4, alreadyPresent: 2, promoted: 2, failed: 0 });
    expect(manifestsSigned(report)).toBe(4); // single, multi's index and its two children
    if (countsPerImage(report)) expect(report.signatures.signed).toBe(2);
    expect(report.signatures.alreadySigned).toBe(0);
    for (const host of [production, mirrorA]) {
      for (const t of targets) {
        const n = await countSignatures(client, host, t.repository, t.digest, ours);
        expect(n, `${host}/${t.repository}@${t.digest}`).toMatchObject({ sigLayers: 1, sigLayersByKey: 1, signBundles: 1, signBundlesByKey: 1 });
      }
    }
  }, 150_000);

  it.skipIf(!findCosign())('cosign verifies the repaired signatures at production, in both formats', async () => {
    for (const t of targets) {
      for (const legacy of [false, true]) {
        const r = await cosignVerify(s.publicKeyPath, `${production}/${t.repository}@${t.digest}`, { legacy });
        expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
        if (legacy) expect(JSON.parse(r.stdout)).toHaveLength(1); // exactly one verified .sig layer
      }
    }
  });

  it('a second run finds them signed: alreadySigned, no new signature layer or referrer, nothing written', async () => {
    expect(first, 'the first run ran').toBeDefined();
    const before = { production: await signatureState(production), mirror: await signatureState(mirrorA) };
    const writes = worker.writeRequests();
    const { code, report } = await promote(manifest, worker.taskQueue);
    expect(report.status).toBe('succeeded');
    expect(code).toBe(0);
    expect(report.workflowId).toBe(first.report.workflowId);
    expect(report.runId).not.toBe(first.report.runId);
    expect(report.edges).toMatchObject({ total: 4, alreadyPresent: 4, promoted: 0 });
    expect(report.signatures).toMatchObject({ signed: 0, mirrored: 0 });
    expect(manifestsSigned(report)).toBe(0);
    expect(report.signatures.alreadySigned).toBe(countsPerImage(report) ? 2 : 4);
    expect(worker.writeRequests() - writes).toBe(0);
    expect(await signatureState(production)).toEqual(before.production);
    expect(await signatureState(mirrorA)).toEqual(before.mirror);
    for (const t of targets) {
      expect(await countSignatures(client, production, t.repository, t.digest, ours)).toMatchObject({
        sigLayers: 1,
        sigLayersByKey: 1,
        signBundles: 1,
        signBundlesByKey: 1,
      });
    }
  }, 150_000);

  it.skipIf(!findCosign())(
    "a digest signed in production by someone else's key gets ours added, theirs kept",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'promoter-sc-keys-'));
      const release = await cosignKeyPair(dir, 'release');
      const repository = `${prefix}/cosigned`;
      const img = await pushRandomImage(client, staging, repository, { seed: repository, layers: 1, layerSize: 700 });
      await copyImage(client, { host: staging, repository, digest: img.digest }, { host: production, repository }, { tags: ['v1'] });
      const ref = `${production}/${repository}@${img.digest}`;
      await cosignSign(release, ref, { legacy: true });
      await cosignSign(release, ref);
      const theirs = readFileSync(release.pub, 'utf8');
      const file = await writeManifest({
        prefix,
        destinations: [production],
        policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
        images: [{ name: 'cosigned', digest: img.digest }],
      });

      const run1 = await promote(file, worker.taskQueue);
      expect(run1.report.failures).toEqual([]);
      expect(run1.report.signatures).toMatchObject({ signed: 1, alreadySigned: 0 });
      expect(manifestsSigned(run1.report)).toBe(1);
      expect(await countSignatures(client, production, repository, img.digest, ours)).toMatchObject({
        sigLayers: 2,
        sigLayersByKey: 1,
        signBundles: 2,
        signBundlesByKey: 1,
      });
      expect(await countSignatures(client, production, repository, img.digest, theirs)).toMatchObject({ sigLayersByKey: 1, signBundlesByKey: 1 });
      for (const pub of [s.publicKeyPath, release.pub]) {
        for (const legacy of [false, true]) {
          const r = await cosignVerify(pub, ref, { legacy });
          expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
        }
      }

      const run2 = await promote(file, worker.taskQueue);
      expect(run2.report.signatures).toMatchObject({ signed: 0, alreadySigned: 1 });
      expect(await countSignatures(client, production, repository, img.digest, ours)).toMatchObject({
        sigLayers: 2,
        sigLayersByKey: 1,
        signBundles: 2,
        signBundlesByKey: 1,
      });
    },
    150_000,
  );
});
