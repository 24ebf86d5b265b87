// Build attestations in every place staging may hold them, made by the real cosign in both of its
// formats (legacy `.att` tags and v3 bundle referrers), on an image, on an index and on index
// children, promoted under provenance `require` to production (distribution: the `sha256-<hex>`
// fallback index) and mirror-a (olareg: the referrers API). At each destination cosign itself must
// verify every attestation the source had, in the format the source had it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { COSIGN_OFFLINE, findCosign, runCosign, type CosignResult } from '../../support/cosign';
import { stack, uniqueName } from '../../support/stack-env';
import {
  cosignAttestProvenance,
  cosignEnv,
  cosignKeyPair,
  promote,
  registryClient,
  seedImages,
  writeManifest,
  type CosignKeyPair,
  type ProvenanceFacts,
} from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const { staging, production, mirrorA } = stack().registries.all;
const client = registryClient();
const prefix = uniqueName('sc-att');

const BUILDER = 'https://github.com/kubernetes/release/.github/workflows/build.yaml@refs/heads/main';
const facts: ProvenanceFacts = { builderId: BUILDER, source: 'git+https://github.com/kubernetes/kubernetes@refs/tags/v1.36.0' };

type Format = 'legacy' | 'bundle';

/** One subject (an image, an index or a child) in one repository, and the formats its provenance was attested in. */
interface Attested {
  what: string;
  repository: string;
  digest: string;
  formats: Format[];
}

let worker: TestWorker;
let release: CosignKeyPair;
let dir: string;
const subjects: Attested[] = [];
const promoted: { name: string; digest: string }[] = [];
/** A child attested nowhere: cosign must refuse it, or the checks below could not fail. */
let unattested: { repository: string; digest: string };

function verifyProvenance(host: string, s: { repository: string; digest: string }, format: Format): Promise<CosignResult> {
  const flag = format === 'legacy' ? '--new-bundle-format=false' : '--new-bundle-format';
  return runCosign(
    ['verify-attestation', '--key', release.pub, '--type', 'slsaprovenance1', flag, ...COSIGN_OFFLINE.verify, `${host}/${s.repository}@${s.digest}`],
    cosignEnv(),
  );
}

describe.skipIf(!findCosign())('build attestations at the source: .att, referrers and index children, in both cosign formats', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'promoter-sc-att-'));
    let single;
    [worker, release, single] = await Promise.all([
      startTestWorker('sc-att'),
      cosignKeyPair(dir, 'release'),
      seedImages(client, prefix, ['single'], { layerSize: 512 }),
    ]);
    const index = async (name: string) => {
      const repository = `${prefix}/${name}`;
      const img = await pushRandomImage(client, staging, repository, {
        seed: repository,
        layers: 1,
        layerSize: 512,
        platforms: ['linux/amd64', 'linux/arm64'],
      });
      promoted.push({ name, digest: img.digest });
      return { repository, digest: img.digest, children: img.children.map((c) => c.digest) };
    };
    promoted.push({ name: 'single', digest: single.single!.digest });
    const multi = await index('multi');
    const childOnly = await index('childonly');
    subjects.push(
      { what: 'image', repository: single.single!.repository, digest: single.single!.digest, formats: ['legacy', 'bundle'] },
      { what: 'index', repository: multi.repository, digest: multi.digest, formats: ['legacy', 'bundle'] },
      { what: 'child of an attested index', repository: multi.repository, digest: multi.children[0]!, formats: ['legacy', 'bundle'] },
      // An index attested only per platform (as buildx does): Provenance passes it by its children.
      { what: 'child of an unattested index (bundle)', repository: childOnly.repository, digest: childOnly.children[0]!, formats: ['bundle'] },
      { what: 'child of an unattested index (.att)', repository: childOnly.repository, digest: childOnly.children[1]!, formats: ['legacy'] },
    );
    unattested = { repository: multi.repository, digest: multi.children[1]! };
    // One at a time: cosign appends to a `.att` it reads first, and two at once on one digest would race.
    for (const s of subjects)
      for (const f of s.formats) await cosignAttestProvenance(release, `${staging}/${s.repository}@${s.digest}`, facts, dir, { legacy: f === 'legacy' });
  }, 300_000);
  afterAll(async () => worker?.stop());

  it('promoted under provenance require, cosign verifies each attestation at production and mirror-a in the format staging had it', async () => {
    const manifest = await writeManifest({
      prefix,
      destinations: [production, mirrorA],
      files: { 'release.pub': release.pub },
      policy: ['signatures:', '  mode: off', 'provenance:', '  mode: require', `  builders: ["${BUILDER}"]`, '  keys: [release.pub]'].join('\n'),
      images: promoted,
    });
    const { code, report } = await promote(manifest, worker.taskQueue, { timeoutMs: 240_000 });
    expect(report.failures).toEqual([]);
    expect(code).toBe(0);
    expect(report.provenance).toMatchObject({ mode: 'require', checked: 3, passed: 3, failed: 0, missing: 0 });
    expect(report.edges).toMatchObject({ total: 6, promoted: 6, failed: 0 });

    for (const host of [production, mirrorA]) {
      for (const s of subjects)
        for (const f of s.formats) {
          const v = await verifyProvenance(host, s, f);
          expect(v.code, `${host}: ${s.what}, ${f}: ${v.command}\n${v.stderr}`).toBe(0);
        }
      for (const f of ['legacy', 'bundle'] as const) expect((await verifyProvenance(host, unattested, f)).code, `${host}: unattested child, ${f}`).not.toBe(0);
    }
  }, 400_000);
});
