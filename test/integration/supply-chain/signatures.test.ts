// Validate under a `require` signature policy, with staging signatures made by the real cosign
// CLI in both formats, through the user's path (CLI -> Temporal -> worker -> registries); then the
// promoter's own signatures and attestations checked by cosign at production and both mirrors.
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import type { RunReport } from '../../../lib/run/report';
import { findCosign } from '../../support/cosign';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import {
  PROMOTION_PREDICATE,
  cosignKeyPair,
  countSignatures,
  cosignSign,
  cosignVerify,
  cosignVerifyAttestation,
  countsPerImage,
  manifestsSigned,
  promote,
  registryClient,
  seedImages,
  writeManifest,
  type CosignKeyPair,
  type StagedImage,
} from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const s = stack();
const { staging, production, mirrorA, mirrorB } = s.registries.all;
const destinations = [production, mirrorA, mirrorB];
const client = registryClient();
const prefix = uniqueName('sc-sig');

let worker: TestWorker;
let release: CosignKeyPair;
let stranger: CosignKeyPair;
let imgs: Record<string, StagedImage>;
let multi: StagedImage & { children: string[] };
let manifest: string;
let confirmed: { code: number; report: RunReport };

describe.skipIf(!findCosign())('signatures: require, with cosign-made signatures', () => {
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promoter-sc-keys-'));
    [worker, release, stranger, imgs] = await Promise.all([
      startTestWorker('sc-sig'),
      cosignKeyPair(dir, 'release'),
      cosignKeyPair(dir, 'stranger'),
      seedImages(client, prefix, ['bundled', 'legacy', 'unsigned', 'stranger'], { layerSize: 1024 }),
    ]);
    const m = await pushRandomImage(client, staging, `${prefix}/multi`, {
      seed: `${prefix}/multi`,
      layers: 1,
      layerSize: 512,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    multi = {
      name: 'multi',
      repository: `${prefix}/multi`,
      digest: m.digest,
      ref: `${staging}/${prefix}/multi@${m.digest}`,
      children: m.children.map((c) => c.digest),
    };

    // The release engineer signs with cosign: v3 bundle, legacy .sig, and an index (bundle).
    await cosignSign(release, imgs.bundled!.ref);
    await cosignSign(release, imgs.legacy!.ref, { legacy: true });
    await cosignSign(release, multi.ref);
    // Someone else's key: a genuine signature, just not one the policy trusts.
    await cosignSign(stranger, imgs.stranger!.ref);

    manifest = await writeManifest({
      prefix,
      destinations,
      files: { 'release.pub': release.pub },
      policy: 'signatures:\n  mode: require\n  keys: [release.pub]\nprovenance:\n  mode: off',
      images: [...Object.values(imgs), multi].map((i) => ({ name: i.name, digest: i.digest, tags: ['v1'] })),
    });
  }, 180_000);
  afterAll(async () => worker?.stop());

  it('cosign itself agrees with the fixtures: release key verifies the signed images, not the stranger', async () => {
    for (const [ref, legacy] of [
      [imgs.bundled!.ref, false],
      [imgs.legacy!.ref, true],
      [multi.ref, false],
    ] as const) {
      const r = await cosignVerify(release.pub, ref, { legacy });
      expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
    }
    expect((await cosignVerify(release.pub, imgs.stranger!.ref)).code).not.toBe(0);
    expect((await cosignVerify(release.pub, imgs.unsigned!.ref)).code).not.toBe(0);
  });

  it('a dry run predicts the failures (exit 1, status dry-run) and writes nothing to any registry', async () => {
    const writesBefore = worker.writeRequests();
    const { code, report } = await promote(manifest, worker.taskQueue, { confirm: false });
    expect(report.status).toBe('dry-run');
    expect(code).toBe(1);
    expect(report.phases.validate.status).toBe('succeeded');
    for (const p of ['promote', 'sign', 'attest'] as const) expect(report.phases[p].status).toBe('skipped');
    expect(report.failures.map((f) => `${f.phase} ${f.code} ${f.edge}`).sort()).toEqual(
      [`validate MISSING ${imgs.unsigned!.ref}`, `validate VERIFICATION_FAILED ${imgs.stranger!.ref}`].sort(),
    );
    expect(report.edges).toMatchObject({ total: 15, toPromote: 15, promoted: 0, failed: 6 });
    expect(report.signatures.signed).toBe(0);
    expect(manifestsSigned(report)).toBe(0);
    expect(worker.writeRequests() - writesBefore).toBe(0);
    for (const i of [...Object.values(imgs), multi]) {
      expect(await skopeoDigest(`${production}/${i.repository}@${i.digest}`), i.name).toBeUndefined();
      expect(await skopeoDigest(`${production}/${i.repository}:v1`), i.name).toBeUndefined();
    }
  }, 120_000);

  it('a confirmed run promotes the images signed by the trusted key and fails exactly the unsigned and foreign-signed ones', async () => {
    confirmed = await promote(manifest, worker.taskQueue);
    const { code, report } = confirmed;
    expect(report.status).toBe('failed');
    expect(code).toBe(1);
    expect(report.signaturesVerified).toMatchObject({ mode: 'require', checked: 5, passed: 3, failed: 1, missing: 1, blocked: 2 });
    expect(report.failures.map((f) => `${f.phase} ${f.code} ${f.edge}`).sort()).toEqual(
      [`validate MISSING ${imgs.unsigned!.ref}`, `validate VERIFICATION_FAILED ${imgs.stranger!.ref}`].sort(),
    );
    expect(report.failureCount).toBe(2);
    // 5 images x 3 destinations; the 2 blocked images fail on all 3 of theirs, nothing else fails
    expect(report.edges).toMatchObject({ total: 15, toPromote: 15, promoted: 9, failed: 6, lost: 0, tagMoves: 0 });
    for (const p of ['promote', 'sign', 'attest'] as const) expect(report.phases[p].status).toBe('succeeded');
    // bundled, legacy, multi (index + 2 children) signed once at production, copied to both mirrors
    expect(manifestsSigned(report)).toBe(5);
    if (countsPerImage(report)) expect(report.signatures.signed).toBe(3);
    expect(report.attestations.written).toBe(3);
  }, 180_000);

  it('skopeo: the signed images are at every destination, byte-identical; the blocked ones are nowhere', async () => {
    for (const host of destinations) {
      for (const i of [imgs.bundled!, imgs.legacy!, multi]) {
        expect(await skopeoDigest(`${host}/${i.repository}:v1`), `${host} ${i.name}`).toBe(i.digest);
      }
      for (const child of multi.children) expect(await skopeoDigest(`${host}/${multi.repository}@${child}`)).toBe(child);
      for (const i of [imgs.unsigned!, imgs.stranger!]) {
        expect(await skopeoDigest(`${host}/${i.repository}@${i.digest}`), `${host} ${i.name}`).toBeUndefined();
        expect(await skopeoDigest(`${host}/${i.repository}:v1`), `${host} ${i.name}`).toBeUndefined();
      }
    }
  });

  it("cosign verifies the promoter's signature on every promoted digest at production and both mirrors, in both formats", async () => {
    expect(confirmed, 'the confirmed run ran').toBeDefined();
    const digests = [
      ...[imgs.bundled!, imgs.legacy!].map((i) => ({ repository: i.repository, digest: i.digest })),
      ...[multi.digest, ...multi.children].map((digest) => ({ repository: multi.repository, digest })),
    ];
    const checks = destinations.flatMap((host) =>
      digests.flatMap((d) => [false, true].map((legacy) => ({ ref: `${host}/${d.repository}@${d.digest}`, legacy }))),
    );
    expect(checks).toHaveLength(30);
    const failed: string[] = [];
    // Two cosign processes at a time: the machine is shared.
    for (let i = 0; i < checks.length; i += 2) {
      const results = await Promise.all(checks.slice(i, i + 2).map(async (c) => ({ c, r: await cosignVerify(s.publicKeyPath, c.ref, { legacy: c.legacy }) })));
      for (const { c, r } of results) if (r.code !== 0) failed.push(`${c.ref} legacy=${c.legacy}: ${r.stderr.trim().split('\n').pop()}`);
    }
    expect(failed).toEqual([]);
    // cosign's bundle path is also satisfied by an attestation alone: count the signatures themselves.
    const ours = readFileSync(s.publicKeyPath, 'utf8');
    for (const host of destinations) {
      for (const d of digests) {
        const n = await countSignatures(client, host, d.repository, d.digest, ours);
        expect(n, `${host}/${d.repository}@${d.digest}`).toMatchObject({ sigLayers: 1, sigLayersByKey: 1, signBundles: 1, signBundlesByKey: 1 });
      }
    }
    // The staging signature by the release key is not what production carries: ours is.
    expect((await cosignVerify(release.pub, `${production}/${imgs.legacy!.repository}@${imgs.legacy!.digest}`, { legacy: true })).code).not.toBe(0);
  }, 180_000);

  it('cosign verifies the promotion attestation at production and at mirror-b, naming the run and the digest', async () => {
    for (const host of [production, mirrorB]) {
      const ref = `${host}/${multi.repository}@${multi.digest}`;
      const r = await cosignVerifyAttestation(s.publicKeyPath, ref, PROMOTION_PREDICATE);
      expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
      const statement = JSON.parse(Buffer.from(JSON.parse(r.stdout.trim().split('\n')[0]!).payload, 'base64').toString('utf8'));
      expect(statement.predicateType).toBe(PROMOTION_PREDICATE);
      expect(statement.subject[0].digest.sha256).toBe(multi.digest.slice('sha256:'.length));
      expect(statement.predicate.run.id).toContain(confirmed.report.workflowId);
      expect(statement.predicate.source.ref).toBe(multi.ref);
    }
    // another key does not verify it
    expect((await cosignVerifyAttestation(release.pub, `${production}/${multi.repository}@${multi.digest}`, PROMOTION_PREDICATE)).code).not.toBe(0);
  }, 60_000);
});
