// A provenance source that only starts like the allowed repository: SLSA provenance attested by
// the real cosign with the release key, naming `…/kubernetes/kubernetes-evil`, under a policy that
// allows `git+https://github.com/kubernetes/kubernetes`. The prefix matches at a path boundary only:
// that edge is blocked, the genuine repository's build (a tag ref, a .git form) is promoted.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCosign } from '../../support/cosign';
import { stack, uniqueName } from '../../support/stack-env';
import { cosignAttestProvenance, cosignKeyPair, promote, registryClient, seedImages, writeManifest } from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const BUILDER = 'https://github.com/kubernetes/release/.github/workflows/build.yaml@refs/heads/main';
const ALLOWED = 'git+https://github.com/kubernetes/kubernetes';

describe.skipIf(!findCosign())('provenance sources match at a path boundary', () => {
  const production = stack().registries.production;
  const client = registryClient();
  let worker: TestWorker;
  beforeAll(async () => {
    worker = await startTestWorker('prov-source');
  }, 120_000);
  afterAll(async () => worker?.stop());

  it('git+https://github.com/kubernetes/kubernetes does not admit kubernetes-evil; the repository itself passes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promoter-prov-source-'));
    const prefix = uniqueName('prov-source');
    const [release, staged] = await Promise.all([cosignKeyPair(dir, 'release'), seedImages(client, prefix, ['tagged', 'dotgit', 'evil', 'evilref'])]);
    const sources: Record<string, string> = {
      tagged: `${ALLOWED}@refs/tags/v1.36.0`,
      dotgit: `${ALLOWED}.git@refs/heads/main`,
      evil: `${ALLOWED}-evil@refs/heads/main`,
      evilref: `${ALLOWED}.github.io@refs/heads/main`,
    };
    for (const [name, source] of Object.entries(sources)) await cosignAttestProvenance(release, staged[name]!.ref, { builderId: BUILDER, source }, dir);
    const policy = [
      'signatures:',
      '  mode: off',
      'provenance:',
      '  mode: require',
      `  builders: ["${BUILDER}"]`,
      `  sources: ["${ALLOWED}"]`,
      '  keys: [release.pub]',
    ].join('\n');
    const manifest = await writeManifest({
      prefix,
      destinations: [production],
      files: { 'release.pub': release.pub },
      policy,
      images: Object.values(staged).map((i) => ({ name: i.name, digest: i.digest })),
    });
    const { code, report } = await promote(manifest, worker.taskQueue);
    expect(code).toBe(1);
    expect(report.provenance).toMatchObject({ mode: 'require', checked: 4, passed: 2, failed: 2, blocked: 2 });
    const blocked = Object.fromEntries(report.failures.map((f) => [f.edge.split('@')[0]!.split('/').pop(), [f.phase, f.code]]));
    expect(blocked).toEqual({ evil: ['provenance', 'VERIFICATION_FAILED'], evilref: ['provenance', 'VERIFICATION_FAILED'] });
    expect(report.failures.find((f) => f.edge.includes('/evil@'))!.error).toContain(`${ALLOWED}-evil@refs/heads/main is not under an allowed prefix`);
    for (const name of ['tagged', 'dotgit']) {
      expect((await client.headManifest({ host: production, repository: staged[name]!.repository, tag: 'v1' }))?.digest).toBe(staged[name]!.digest);
    }
    for (const name of ['evil', 'evilref'])
      expect(await client.headManifest({ host: production, repository: staged[name]!.repository, tag: 'v1' })).toBeUndefined();
  }, 240_000);
});
