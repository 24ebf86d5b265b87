// Hostile manifest trees given to the real `promoter run --confirm`: a key path that leaves the
// tree (by `..` or by a symlink), YAML nested 50,000 deep, a 17 MiB file, a registry spelled in
// another case to slip past the tag-conflict rule, an unanchored identity pattern. Each is refused
// with exit 2, file, line and rule, and nothing is written: the CLI's S3 (a recording proxy in front
// of the stack's) sees no request at all.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestError } from '../../../lib/manifests';
import { runCli } from '../../support/cli';
import { S3Proxy } from '../../support/s3-proxy';
import { stack } from '../../support/stack-env';

const env = stack();
const PUB = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const registries = (dest = `${env.registries.production}/prod`) =>
  ['registries:', `- name: ${env.registries.staging}/staging`, '  src: true', `- name: ${dest}`, ''].join('\n');
const images = (digest = D1) => ['- name: app', '  dmap:', `    "${digest}": ["v1"]`, ''].join('\n');

describe('hostile manifests given to promoter run', () => {
  let s3: S3Proxy;
  let dir: string;
  beforeAll(async () => {
    s3 = await S3Proxy.start(env.s3.endpoint, env.s3.region);
    dir = await mkdtemp(join(tmpdir(), 'promoter-hostile-'));
  });
  afterAll(async () => s3?.close());

  /** `promoter run --confirm --json` on a plain manifest (a file) or a thin tree (a folder). */
  async function refused(target: { manifest: string } | { thin: string }): Promise<ManifestError[]> {
    const before = s3.requests.length;
    const where = 'manifest' in target ? ['--manifest', target.manifest] : ['--thin-manifest-dir', target.thin];
    const r = await runCli(['run', ...where, '--confirm', '--json'], { PROMOTER_S3_ENDPOINT: s3.endpoint });
    expect(r.code, r.stderr).toBe(2);
    expect(s3.requests.length - before).toBe(0); // no bundle stored, no run started
    const doc = JSON.parse(r.stdout) as { valid: boolean; errors: ManifestError[] };
    expect(doc.valid).toBe(false);
    return doc.errors;
  }
  const plainManifest = async (name: string, text: string, files: Record<string, string> = {}) => {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(join(folder, rel, '..'), { recursive: true });
      await writeFile(join(folder, rel), content);
    }
    await writeFile(join(folder, 'promoter.yaml'), text);
    return { folder, manifest: join(folder, 'promoter.yaml') };
  };
  const at = (errors: ManifestError[]) => errors.map((e) => [e.file, e.line, e.rule]);

  it('a key file that is a symlink to a key outside the manifest folder: key-path-symlink', async () => {
    const outside = join(dir, 'outside.pub');
    await writeFile(outside, PUB);
    const { folder, manifest } = await plainManifest(
      'symlink',
      `${registries()}signatures:\n  mode: require\n  keys: [keys/release.pub]\nimages:\n${images()}`,
    );
    await mkdir(join(folder, 'keys'));
    await symlink(outside, join(folder, 'keys/release.pub'));
    expect(at(await refused({ manifest }))).toEqual([['promoter.yaml', 7, 'key-path-symlink']]);
  });

  it('a key path that climbs out of the manifest folder: key-path-outside', async () => {
    await writeFile(join(dir, 'release.pub'), PUB);
    const { manifest } = await plainManifest('climb', `${registries()}provenance:\n  mode: require\n  keys:\n  - ../release.pub\nimages:\n${images()}`);
    expect(at(await refused({ manifest }))).toEqual([['promoter.yaml', 8, 'key-path-outside']]);
  });

  it('YAML nested 50,000 deep: yaml-depth (the parser used to overflow its stack)', async () => {
    const { manifest } = await plainManifest('deep', `${registries()}images:\n- ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    const errors = await refused({ manifest });
    expect(at(errors)).toEqual([['promoter.yaml', 6, 'yaml-depth']]);
    expect(errors[0]!.message).toBe('collections nested deeper than 64 levels');
  });

  it('an images file of 17 MiB: manifest-too-large, before reading it', async () => {
    const root = join(dir, 'big');
    await mkdir(join(root, 'manifests/p'), { recursive: true });
    await mkdir(join(root, 'images/p'), { recursive: true });
    await writeFile(join(root, 'manifests/p/promoter-manifest.yaml'), registries());
    await writeFile(join(root, 'images/p/images.yaml'), images());
    await truncate(join(root, 'images/p/images.yaml'), 17 * 1024 * 1024);
    const errors = await refused({ thin: root });
    expect(at(errors)).toEqual([['images/p/images.yaml', 0, 'manifest-too-large']]);
    expect(errors[0]!.message).toBe('is 17.0 MiB; a manifest file may be at most 16 MiB');
  });

  it('one tag given two digests by two projects, the registry spelled Reg.Example.com:443 by one: tag-conflict', async () => {
    const root = join(dir, 'case');
    const files = {
      'manifests/a/promoter-manifest.yaml': registries('reg.example.com/prod'),
      'images/a/images.yaml': images(D1),
      'manifests/b/promoter-manifest.yaml': registries('Reg.Example.com:443/prod'),
      'images/b/images.yaml': images(D2),
    };
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(join(root, rel, '..'), { recursive: true });
      await writeFile(join(root, rel), text);
    }
    const errors = await refused({ thin: root });
    expect(at(errors)).toEqual([['images/b/images.yaml', 3, 'tag-conflict']]);
    expect(errors[0]!.message).toContain('reg.example.com/prod/app');
  });

  it('an unanchored subjectRegExp: identity-regexp-anchored; the human output names file, line and rule', async () => {
    const text = `${registries()}signatures:\n  mode: require\n  identities:\n  - issuer: https://accounts.google.com\n    subjectRegExp: krel-trust@k8s-releng-prod\\.iam\\.gserviceaccount\\.com\nimages:\n${images()}`;
    const { manifest } = await plainManifest('regexp', text);
    expect(at(await refused({ manifest }))).toEqual([['promoter.yaml', 9, 'identity-regexp-anchored']]);
    const human = await runCli(['run', '--manifest', manifest, '--confirm'], { PROMOTER_S3_ENDPOINT: s3.endpoint });
    expect(human.code).toBe(2);
    expect(`${human.stdout}${human.stderr}`).toMatch(/promoter\.yaml:9: identity-regexp-anchored: subjectRegExp ".*" is not anchored/);
  });
});
