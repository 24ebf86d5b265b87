// Tampered signatures: images legitimately signed by cosign, whose signature is then swapped
// for a genuine signature over another payload (legacy `.sig` annotation, or the DSSE signature
// inside the v3 bundle), or whose signature is another image's, replayed unchanged. `if-present`
// must block them all; `off` must let them through.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { findCosign } from '../../support/cosign';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import {
  bundleSignatureOf,
  cosignKeyPair,
  cosignSign,
  cosignVerify,
  legacySignatureOf,
  promote,
  registryClient,
  seedImages,
  tamperBundleSignature,
  tamperLegacySignature,
  transplantBundleReferrers,
  transplantLegacy,
  writeManifest,
  type CosignKeyPair,
  type StagedImage,
} from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const { staging, production } = stack().registries.all;
const client = registryClient();
const prefix = uniqueName('sc-tamper');

let worker: TestWorker;
let release: CosignKeyPair;
let imgs: Record<string, StagedImage>;
let dir: string;

const manifestFor = (mode: string) =>
  writeManifest({
    prefix,
    destinations: [production],
    files: { 'release.pub': release.pub },
    policy: `signatures:\n  mode: ${mode}\n  keys: [release.pub]\nprovenance:\n  mode: off`,
    images: ['good', 'unsigned', 'forgedsig', 'forgedbundle', 'replayedsig', 'replayedbundle'].map((n) => ({ name: n, digest: imgs[n]!.digest })),
  });

describe.skipIf(!findCosign())('tampered signatures', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promoter-sc-keys-'));
    [worker, release, imgs] = await Promise.all([
      startTestWorker('sc-tamper'),
      cosignKeyPair(dir, 'release'),
      seedImages(client, prefix, ['good', 'unsigned', 'forgedsig', 'forgedbundle', 'replayedsig', 'replayedbundle', 'donor'], { layerSize: 768 }),
    ]);
    imgs.forgedSig = imgs.forgedsig!;
    imgs.forgedBundle = imgs.forgedbundle!;
    imgs.replayedSig = imgs.replayedsig!;
    imgs.replayedBundle = imgs.replayedbundle!;
    await cosignSign(release, imgs.good!.ref, { legacy: true });
    await cosignSign(release, imgs.forgedSig.ref, { legacy: true });
    await cosignSign(release, imgs.forgedBundle.ref);
    await cosignSign(release, imgs.donor!.ref);
    for (const [i, legacy] of [
      [imgs.forgedSig, true],
      [imgs.forgedBundle, false],
    ] as const) {
      const r = await cosignVerify(release.pub, i.ref, { legacy });
      expect(r.code, `before tampering: ${r.command}\n${r.stderr}`).toBe(0);
    }
    // Genuine signatures by the same key, over other images' payloads.
    await tamperLegacySignature(
      client,
      staging,
      imgs.forgedSig.repository,
      imgs.forgedSig.digest,
      await legacySignatureOf(client, staging, imgs.good!.repository, imgs.good!.digest),
    );
    // Another image's genuine signatures, copied whole onto these digests.
    await transplantLegacy(client, staging, '.sig', imgs.good!, imgs.replayedSig);
    expect(await transplantBundleReferrers(client, staging, imgs.donor!, imgs.replayedBundle)).toBe(1);
    expect(
      await tamperBundleSignature(
        client,
        staging,
        imgs.forgedBundle.repository,
        imgs.forgedBundle.digest,
        await bundleSignatureOf(client, staging, imgs.donor!.repository, imgs.donor!.digest),
      ),
    ).toBe(1);
  }, 180_000);
  afterAll(async () => worker?.stop());

  it('cosign rejects the tampered and replayed images', async () => {
    for (const [i, legacy] of [
      [imgs.forgedSig!, true],
      [imgs.forgedBundle!, false],
      [imgs.replayedSig!, true],
      [imgs.replayedBundle!, false],
    ] as const) {
      const r = await cosignVerify(release.pub, i.ref, { legacy });
      expect(r.code, `${r.command} should fail after tampering`).not.toBe(0);
    }
    expect((await cosignVerify(release.pub, imgs.good!.ref, { legacy: true })).code).toBe(0);
  });

  it('if-present: the tampered and replayed images are blocked (VERIFICATION_FAILED); signed and unsigned ones are promoted', async () => {
    const { code, report } = await promote(await manifestFor('if-present'), worker.taskQueue);
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.signaturesVerified).toMatchObject({ mode: 'if-present', checked: 6, passed: 1, missing: 1, failed: 4, blocked: 4 });
    expect(report.failures.map((f) => `${f.phase} ${f.code} ${f.edge}`).sort()).toEqual(
      [imgs.forgedSig!, imgs.forgedBundle!, imgs.replayedSig!, imgs.replayedBundle!].map((i) => `validate VERIFICATION_FAILED ${i.ref}`).sort(),
    );
    expect(report.edges).toMatchObject({ total: 6, promoted: 2, failed: 4 });
    expect(await skopeoDigest(`${production}/${imgs.good!.repository}:v1`)).toBe(imgs.good!.digest);
    expect(await skopeoDigest(`${production}/${imgs.unsigned!.repository}:v1`)).toBe(imgs.unsigned!.digest);
    for (const i of [imgs.forgedSig!, imgs.forgedBundle!, imgs.replayedSig!, imgs.replayedBundle!]) {
      expect(await skopeoDigest(`${production}/${i.repository}@${i.digest}`), i.name).toBeUndefined();
    }
  }, 150_000);

  it('off: nothing is verified, the tampered images are promoted too', async () => {
    const { code, report }: { code: number; report: RunReport } = await promote(await manifestFor('off'), worker.taskQueue);
    expect(report.failures).toEqual([]);
    expect(report.status).toBe('succeeded');
    expect(code).toBe(0);
    expect(report.phases.validate.status).toBe('skipped');
    expect(report.signaturesVerified).toMatchObject({ mode: 'off', checked: 0, blocked: 0 });
    expect(report.edges).toMatchObject({ total: 6, promoted: 4, alreadyPresent: 2, failed: 0 });
    for (const i of [imgs.forgedSig!, imgs.forgedBundle!, imgs.replayedSig!, imgs.replayedBundle!]) {
      expect(await skopeoDigest(`${production}/${i.repository}:v1`), i.name).toBe(i.digest);
    }
  }, 150_000);
});
