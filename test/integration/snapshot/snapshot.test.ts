// `promoter snapshot`: what a registry holds under a prefix, after a real promotion. The snapshot
// is a valid images.yaml (promoter validate accepts it), promoting it again writes nothing, and
// --signatures tells the promoter's verified signatures from an image pushed by hand.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRepositories, RegistryClient } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { loadSigningKey, mergeSignatureArtifact, signatureLayer, signatureTag } from '../../../lib/signing';
import type { SnapshotWithEvidence } from '../../../lib/snapshot';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { keylessStack } from '../../support/keyless';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

const s = stack();
const { staging, production, mirrorA, mirrorB } = s.registries.all;
const destinations = [production, mirrorA, mirrorB];
const k = keylessStack();
let worker: TestWorker;
let client: RegistryClient;
let prefix: string;
let work: string;
let env: Record<string, string>;
const d = { app: '', multi: '', tool: '' };
/** What the promotion put under the prefix, as the snapshot must show it. */
let expected: { name: string; dmap: Record<string, string[]> }[];
let snapshotYaml: string;

beforeAll(async () => {
  client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  prefix = uniqueName('snap');
  work = await mkdtemp(join(tmpdir(), 'promoter-snapshot-'));
  worker = await startTestWorker('snapshot');
  env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
  d.app = (await pushRandomImage(client, staging, `${prefix}/app`, { seed: `${prefix}/app`, layers: 1, layerSize: 1024 })).digest;
  const multi = { seed: `${prefix}/multi`, layers: 1, layerSize: 1024, platforms: ['linux/amd64', 'linux/arm64'] };
  d.multi = (await pushRandomImage(client, staging, `${prefix}/team/multi`, multi)).digest;
  d.tool = (await pushRandomImage(client, staging, `${prefix}/tool`, { seed: `${prefix}/tool`, layers: 1, layerSize: 512 })).digest;
  expected = [
    { name: 'app', dmap: { [d.app]: ['latest', 'v1'] } },
    { name: 'team/multi', dmap: { [d.multi]: ['v2'] } },
    { name: 'tool', dmap: { [d.tool]: ['1.0'] } },
  ];
  const manifest = await writePlainManifest(
    `${staging}/${prefix}`,
    destinations.map((h) => `${h}/${prefix}`),
    [
      { name: 'app', digest: d.app, tags: ['v1', 'latest'] },
      { name: 'team/multi', digest: d.multi, tags: ['v2'] },
      { name: 'tool', digest: d.tool, tags: ['1.0'] },
    ],
  );
  const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  expect(parseJsonOutput<RunReport>(r).edges).toMatchObject({ total: 12, promoted: 12 });
}, 240_000);
afterAll(async () => worker?.stop());

const snapshot = (...args: string[]) => runCli(['snapshot', ...args], { DOCKER_CONFIG: s.dockerConfigDir });

describe('promoter snapshot', () => {
  it("prints kpromo's images.yaml of what production holds under the prefix: every name, digest and tag", async () => {
    const r = await snapshot(`${production}/${prefix}`);
    expect(r.code, r.stderr).toBe(0);
    snapshotYaml = r.stdout;
    const entry = ([dg, tags]: [string, string[]]) => `    "${dg}": [${tags.map((t) => `"${t}"`).join(', ')}]`;
    const lines = expected.flatMap((i) => [`- name: ${i.name}`, '  dmap:', ...Object.entries(i.dmap).map(entry)]);
    expect(snapshotYaml).toBe(`${lines.join('\n')}\n`);
  });

  it('promoter validate accepts it as the images.yaml of a thin layout, and promoting it again writes nothing', async () => {
    const layout = join(work, 'layout');
    await mkdir(join(layout, 'manifests', 'snap'), { recursive: true });
    await mkdir(join(layout, 'images', 'snap'), { recursive: true });
    const registries = ['registries:', `  - name: ${staging}/${prefix}`, '    src: true', ...destinations.map((h) => `  - name: ${h}/${prefix}`), ''];
    await writeFile(join(layout, 'manifests', 'snap', 'promoter-manifest.yaml'), registries.join('\n'));
    await writeFile(join(layout, 'images', 'snap', 'images.yaml'), snapshotYaml);
    const v = await runCli(['validate', '--thin-manifest-dir', layout, '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(parseJsonOutput<{ counts: Record<string, number> }>(v).counts).toMatchObject({ projects: 1, images: 3, digests: 3, uniqueEdges: 12 });

    const writesBefore = worker.writeRequests();
    const again = parseJsonOutput<RunReport>(await runCli(['run', '--thin-manifest-dir', layout, '--confirm', '--wait', '--json'], env));
    expect(again.status).toBe('succeeded');
    expect(again.edges).toMatchObject({ total: 12, toPromote: 0, promoted: 0, alreadyPresent: 12, failed: 0 });
    expect(again.signatures).toMatchObject({ signed: 0, alreadySigned: 3, mirrored: 0 });
    expect(again.attestations.written).toBe(0);
    expect(worker.writeRequests() - writesBefore).toBe(0);
  }, 120_000);

  it('--format json and --format csv carry the same content', async () => {
    const json = await snapshot(`${production}/${prefix}`, '--format', 'json');
    expect(JSON.parse(json.stdout)).toEqual({ registry: `${production}/${prefix}`, images: expected });
    const csv = await snapshot(`${production}/${prefix}`, '--format', 'csv');
    const rows = expected.flatMap((i) => Object.entries(i.dmap).flatMap(([dg, tags]) => tags.map((t) => `${i.name},${dg},${t}`)));
    expect(csv.stdout).toBe(`${['name,digest,tag', ...rows].join('\n')}\n`);
    expect((await snapshot(`${production}/${prefix}`, '--format', 'xml')).code).toBe(2);
  });

  it('reads every mirror alike: mirror-b (token auth) by its catalog, mirror-a (no catalog) by the names of an images file', async () => {
    expect((await snapshot(`${mirrorB}/${prefix}`)).stdout).toBe(snapshotYaml);
    const noCatalog = await snapshot(`${mirrorA}/${prefix}`);
    expect(noCatalog.code).toBe(1);
    expect(noCatalog.stderr).toMatch(/does not list its repositories .*--repository NAME or --images FILE/);
    const imagesFile = join(work, 'images.yaml');
    await writeFile(imagesFile, snapshotYaml);
    const byFile = await snapshot(`${mirrorA}/${prefix}`, '--images', imagesFile);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(byFile.stdout).toBe(snapshotYaml);
    const byName = await snapshot(`${mirrorA}/${prefix}`, '--repository', 'tool', '--format', 'json');
    expect(JSON.parse(byName.stdout).images).toEqual([expected[2]]);
  });

  it('follows the catalog across pages', async () => {
    const paged = await listRepositories(client, production, { pageSize: 2 });
    expect(paged.filter((r) => r.startsWith(`${prefix}/`)).sort()).toEqual([`${prefix}/app`, `${prefix}/team/multi`, `${prefix}/tool`]);
    expect(new Set(paged)).toEqual(new Set(await listRepositories(client, production)));
  });

  it('--signatures says "verified" for every promoted digest, "missing" for one pushed by hand, "unverified" for one signed by another key', async () => {
    const manual = await pushRandomImage(client, production, `${prefix}/manual`, { seed: `${prefix}/manual`, layers: 1, layerSize: 256, tag: 'v1' });
    const other = await pushRandomImage(client, production, `${prefix}/other`, { seed: `${prefix}/other`, layers: 1, layerSize: 256, tag: 'v1' });
    const stranger = loadSigningKey({ pem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    const layer = signatureLayer(stranger, { dockerReference: `${production}/${prefix}/other`, digest: other.digest });
    const foreign = mergeSignatureArtifact(undefined, layer).artifact;
    for (const b of foreign.blobs) await client.pushBlob(production, `${prefix}/other`, b.bytes);
    await client.putManifest({ host: production, repository: `${prefix}/other`, tag: signatureTag(other.digest) }, foreign.manifest, foreign.mediaType);
    const byKey = { DOCKER_CONFIG: s.dockerConfigDir, PROMOTER_PUBLIC_KEY: s.publicKeyPath };
    const r = await runCli(['snapshot', `${production}/${prefix}`, '--signatures', '--format', 'json'], byKey);
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as SnapshotWithEvidence;
    const evidence = Object.fromEntries(shown.images.flatMap((i) => Object.entries(i.evidence).map(([dg, e]) => [`${i.name}@${dg}`, e])));
    const promoted = { signature: 'verified', signatureFormats: ['legacy', 'bundle'], attestation: 'verified' };
    expect(evidence).toEqual({
      [`app@${d.app}`]: promoted,
      [`team/multi@${d.multi}`]: promoted,
      [`tool@${d.tool}`]: promoted,
      [`manual@${manual.digest}`]: { signature: 'missing', signatureFormats: [], attestation: 'missing' },
      [`other@${other.digest}`]: { signature: 'unverified', signatureFormats: [], attestation: 'missing' },
    });
    const yaml = await runCli(['snapshot', `${production}/${prefix}`, '--signatures'], byKey);
    expect(yaml.stdout).toContain(`    "${manual.digest}": ["v1"]  # signature: missing, attestation: missing\n`);
    expect(yaml.stdout).toContain(`    "${d.tool}": ["1.0"]  # signature: verified, attestation: verified\n`);
    // By identity alone (the keyless trust, from the stack's trusted root): a signature by the key is not the identity's.
    if (k) {
      const byIdentity = await runCli(['snapshot', `${production}/${prefix}`, '--signatures', '--repository', 'tool', '--format', 'csv'], {
        DOCKER_CONFIG: s.dockerConfigDir,
        PROMOTER_PUBLIC_KEY: '',
        PROMOTER_KEYLESS_IDENTITY: k.identity,
        PROMOTER_KEYLESS_ISSUER: k.issuer,
        PROMOTER_TRUSTED_ROOT: k.trustedRootPath,
      });
      expect(byIdentity.code, byIdentity.stderr).toBe(0);
      expect(byIdentity.stdout).toBe(`name,digest,tag,signature,attestation\ntool,${d.tool},1.0,unverified,unverified\n`);
    }
    const noTrust = await runCli(['snapshot', `${production}/${prefix}`, '--signatures'], { ...byKey, PROMOTER_PUBLIC_KEY: '', PROMOTER_KEYLESS_IDENTITY: '' });
    expect(noTrust.code).toBe(2);
    expect(noTrust.stderr).toContain('--signatures needs');
  });
});
