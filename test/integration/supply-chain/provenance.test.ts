// Provenance under real policies: SLSA provenance v1 attested by the real cosign CLI (v3 bundle
// referrers and legacy `.att`), checked for signature, subject digest, builder id and source.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCosign } from '../../support/cosign';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import {
  cosignAttestProvenance,
  cosignKeyPair,
  promote,
  registryClient,
  seedImages,
  transplantLegacyAttestation,
  writeManifest,
  type CosignKeyPair,
  type ProvenanceFacts,
  type StagedImage,
} from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const { staging, production } = stack().registries.all;
const client = registryClient();
const prefix = uniqueName('sc-prov');

const BUILDER = 'https://github.com/kubernetes/release/.github/workflows/build.yaml@refs/heads/main';
const SOURCE_PREFIX = 'git+https://github.com/kubernetes/';
const good: ProvenanceFacts = { builderId: BUILDER, source: 'git+https://github.com/kubernetes/kubernetes@refs/tags/v1.36.0' };

let worker: TestWorker;
let release: CosignKeyPair;
let stranger: CosignKeyPair;
let imgs: Record<string, StagedImage>;
let dir: string;

const policy = (mode: string) =>
  [
    'signatures:',
    '  mode: off',
    'provenance:',
    `  mode: ${mode}`,
    `  builders: ["${BUILDER}"]`,
    `  sources: ["${SOURCE_PREFIX}"]`,
    '  keys: [release.pub]',
  ].join('\n');

const manifestFor = (mode: string, names: string[]) =>
  writeManifest({
    prefix,
    destinations: [production],
    files: { 'release.pub': release.pub },
    policy: policy(mode),
    images: names.map((n) => ({ name: n, digest: imgs[n]!.digest })),
  });

const inProduction = (name: string) => skopeoDigest(`${production}/${imgs[name]!.repository}@${imgs[name]!.digest}`);

describe.skipIf(!findCosign())('provenance: SLSA v1 under require and warn', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promoter-sc-keys-'));
    [worker, release, stranger, imgs] = await Promise.all([
      startTestWorker('sc-prov'),
      cosignKeyPair(dir, 'release'),
      cosignKeyPair(dir, 'stranger'),
      seedImages(client, prefix, ['good', 'goodlegacy', 'badbuilder', 'badsource', 'othersubject', 'missing', 'unsignedkey', 'depsource', 'donor'], {
        layerSize: 640,
      }),
    ]);
    const attest = (name: string, facts: ProvenanceFacts, opts: { legacy?: boolean; key?: CosignKeyPair } = {}) =>
      cosignAttestProvenance(opts.key ?? release, imgs[name]!.ref, facts, dir, { legacy: opts.legacy });
    await attest('good', good);
    await attest('goodlegacy', good, { legacy: true });
    await attest('badbuilder', { ...good, builderId: 'https://ci.example.com/someone-elses-builder' });
    await attest('badsource', { ...good, source: 'git+https://github.com/attacker/kubernetes@refs/heads/main' });
    await attest('unsignedkey', good, { key: stranger });
    // A foreign source that lists a library from the allowed organisation among its dependencies.
    await attest('depsource', {
      ...good,
      source: 'git+https://github.com/attacker/fork@refs/heads/main',
      dependencies: ['git+https://github.com/kubernetes/apimachinery@refs/tags/v0.36.0'],
    });
    // Genuine, signed, policy-conforming provenance of another image, placed on this one.
    await attest('donor', good, { legacy: true });
    await transplantLegacyAttestation(client, staging, imgs.donor!, imgs.othersubject!);
  }, 180_000);
  afterAll(async () => worker?.stop());

  it('require: good provenance (bundle and legacy .att) passes; wrong builder, foreign source, another subject, unknown key and none at all fail', async () => {
    const names = ['good', 'goodlegacy', 'badbuilder', 'badsource', 'othersubject', 'unsignedkey', 'missing'];
    const { code, report } = await promote(await manifestFor('require', names), worker.taskQueue);
    expect(code).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.provenance).toMatchObject({ mode: 'require', checked: 7, passed: 2, failed: 4, missing: 1, blocked: 5, warnings: 0 });
    const byEdge = new Map(report.failures.map((f) => [f.edge, f]));
    expect(report.failures).toHaveLength(5);
    expect(report.failures.every((f) => f.phase === 'provenance')).toBe(true);
    const failure = (name: string) => byEdge.get(imgs[name]!.ref);
    expect(failure('missing')).toMatchObject({ code: 'MISSING' });
    expect(failure('badbuilder')).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(failure('badbuilder')!.error).toMatch(/builder/);
    expect(failure('badsource')).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(failure('badsource')!.error).toMatch(/source/);
    expect(failure('othersubject')).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(failure('othersubject')!.error).toContain(imgs.othersubject!.digest);
    expect(failure('unsignedkey')).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(report.edges).toMatchObject({ total: 7, promoted: 2, failed: 5 });

    expect(await skopeoDigest(`${production}/${imgs.good!.repository}:v1`)).toBe(imgs.good!.digest);
    expect(await skopeoDigest(`${production}/${imgs.goodlegacy!.repository}:v1`)).toBe(imgs.goodlegacy!.digest);
    for (const n of ['badbuilder', 'badsource', 'othersubject', 'unsignedkey', 'missing']) expect(await inProduction(n), n).toBeUndefined();
  }, 150_000);

  it('require: a dependency from the allowed organisation does not make a foreign source acceptable', async () => {
    // The source of a build is what it was built from (externalParameters, the first resolved
    // dependency), not any library it pulled in.
    const { report } = await promote(await manifestFor('require', ['depsource']), worker.taskQueue);
    expect(report.failures.map((f) => `${f.phase} ${f.code} ${f.edge}`)).toEqual([`provenance VERIFICATION_FAILED ${imgs.depsource!.ref}`]);
    expect(await inProduction('depsource')).toBeUndefined();
  }, 150_000);

  it('warn: the same failing images are promoted, and the provenance summary counts the warnings', async () => {
    const { code, report } = await promote(await manifestFor('warn', ['missing', 'badbuilder', 'othersubject']), worker.taskQueue);
    expect(report.failures).toEqual([]);
    expect(report.status).toBe('succeeded');
    expect(code).toBe(0);
    expect(report.provenance).toMatchObject({ mode: 'warn', checked: 3, passed: 0, missing: 1, failed: 2, warnings: 3, blocked: 0 });
    expect(report.edges).toMatchObject({ total: 3, promoted: 3, failed: 0 });
    for (const n of ['missing', 'badbuilder', 'othersubject']) {
      expect(await skopeoDigest(`${production}/${imgs[n]!.repository}:v1`), n).toBe(imgs[n]!.digest);
    }
  }, 150_000);
});
