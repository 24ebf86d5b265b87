// Deliberate limits on what a manifest tree may make the loader read: key files stay inside the
// tree (a plain manifest's folder, the whole thin layout; no symlink out, regular files, 64 KiB), manifest files are at most 16 MiB
// (checked before reading) and YAML nests at most 64 levels (checked without recursion).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_YAML_DEPTH, loadImagesFile, loadPlainManifest, loadThinManifests } from '../../../lib/manifests';
import { HEAD, IMAGES, findings, loadAs, tempDir, writeTree } from './helpers';

const PUB = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
const keyPolicy = (entry: string) => `${HEAD}signatures:\n  keys:\n  - ${entry}\n`;
/** The line of the key entry in keyPolicy(): HEAD's lines, then signatures:, keys:, the entry. */
const KEY_LINE = HEAD.split('\n').length - 1 + 3;

describe.each(['plain', 'thin'] as const)('key paths on the %s layout', (layout) => {
  const manifestFolder = (root: string) => (layout === 'plain' ? root : path.join(root, 'manifests/p'));
  /** Writes a one-project tree whose policy names `entry`, after `prepare` made links or special files in the manifest's folder. */
  async function load(entryOf: string | ((outside: string) => string), prepare: (folder: string, outside: string) => Promise<void>) {
    const outside = await tempDir('outside-');
    const entry = typeof entryOf === 'string' ? entryOf : entryOf(outside);
    await writeFile(path.join(outside, 'release.pub'), PUB);
    const root = await tempDir(`keys-${layout}-`);
    const folder = manifestFolder(root);
    await mkdir(folder, { recursive: true });
    await prepare(folder, outside);
    const head = keyPolicy(entry);
    if (layout === 'plain') {
      await writeTree(root, { 'promoter.yaml': `${head}images:\n${IMAGES}` });
      return { result: await loadPlainManifest(path.join(root, 'promoter.yaml')), file: 'promoter.yaml' };
    }
    await writeTree(root, { 'manifests/p/promoter-manifest.yaml': head, 'images/p/images.yaml': IMAGES });
    return { result: await loadThinManifests(root), file: 'manifests/p/promoter-manifest.yaml' };
  }

  it('a symlink to a key outside the folder: key-path-symlink, nothing loaded', async () => {
    const { result, file } = await load('keys/release.pub', async (folder, outside) => {
      await mkdir(path.join(folder, 'keys'));
      await symlink(path.join(outside, 'release.pub'), path.join(folder, 'keys/release.pub'));
    });
    expect(findings(result)).toEqual([[file, KEY_LINE, 'key-path-symlink']]);
    expect(result.bundle).toBeUndefined();
  });

  it('a folder on the path that is a symlink out of the tree: key-path-symlink', async () => {
    const { result, file } = await load('keys/release.pub', async (folder, outside) => {
      await symlink(outside, path.join(folder, 'keys'));
    });
    expect(findings(result)).toEqual([[file, KEY_LINE, 'key-path-symlink']]);
  });

  it('a FIFO is refused as not a regular file, without waiting for a writer', async () => {
    const { result, file } = await load('keys/release.pub', async (folder) => {
      await mkdir(path.join(folder, 'keys'));
      execFileSync('mkfifo', [path.join(folder, 'keys/release.pub')]);
    });
    expect(findings(result)).toEqual([[file, KEY_LINE, 'key-file-type']]);
  });

  it('accepts a key inside the folder, also through .. that stays inside and a symlink that stays inside', async () => {
    for (const [entry, prepare] of [
      ['keys/../release.pub', async (folder: string) => writeFile(path.join(folder, 'release.pub'), PUB)],
      [
        'current.pub',
        async (folder: string) => {
          await writeFile(path.join(folder, 'release.pub'), PUB);
          await symlink('release.pub', path.join(folder, 'current.pub'));
        },
      ],
    ] as const) {
      const { result } = await load(entry, prepare);
      expect(result.errors).toEqual([]);
      expect(result.bundle!.projects[0]!.signatures.keys).toEqual([PUB]);
    }
  });

  it('a path that climbs out of the tree is refused even when the file exists', async () => {
    // Both temporary folders sit side by side: the path reaches the real key next to the tree.
    const up = layout === 'plain' ? '..' : '../../..';
    const { result, file } = await load(
      (outside) => `${up}/${path.basename(outside)}/release.pub`,
      async () => {},
    );
    expect(findings(result)).toEqual([[file, KEY_LINE, 'key-path-outside']]);
  });

  if (layout === 'thin') {
    it('the thin tree is the whole layout: a keys/ folder at its root serves every project', async () => {
      const { result } = await load('../../keys/release.pub', async (folder) => {
        await mkdir(path.join(folder, '../../keys'));
        await writeFile(path.join(folder, '../../keys/release.pub'), PUB);
      });
      expect(result.errors).toEqual([]);
      expect(result.bundle!.projects[0]!.signatures.keys).toEqual([PUB]);
    });
  }
});

describe('manifest file size', () => {
  it('a plain manifest over 16 MiB is refused before it is read: manifest-too-large', async () => {
    const root = await tempDir('big-');
    const file = path.join(root, 'promoter.yaml');
    await writeFile(file, `${HEAD}images:\n${IMAGES}`);
    await truncate(file, 16 * 1024 * 1024 + 1); // sparse: nothing to read would fit in a test anyway
    const r = await loadPlainManifest(file);
    expect(r.errors).toMatchObject([{ file: 'promoter.yaml', line: 0, rule: 'manifest-too-large' }]);
    expect(r.errors[0]!.message).toMatch(/16\.0 MiB; a manifest file may be at most 16 MiB/);
    expect(r.bundle).toBeUndefined();
  });

  it('a thin images file over 16 MiB too, and the other projects are still checked', async () => {
    const root = await tempDir('big-thin-');
    await writeTree(root, {
      'manifests/a/promoter-manifest.yaml': HEAD,
      'images/a/images.yaml': IMAGES,
      'manifests/b/promoter-manifest.yaml': HEAD,
      'images/b/images.yaml': IMAGES.replace('foo', 'bar'),
    });
    await truncate(path.join(root, 'images/b/images.yaml'), 40 * 1024 * 1024);
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([['images/b/images.yaml', 0, 'manifest-too-large']]);
    expect(r.counts.projects).toBe(1);
  });

  it('an images file read on its own (snapshot --images) too', async () => {
    const file = path.join(await tempDir('big-images-'), 'images.yaml');
    await writeFile(file, IMAGES);
    await truncate(file, 16 * 1024 * 1024 + 1);
    expect((await loadImagesFile(file)).errors).toMatchObject([{ file: 'images.yaml', line: 0, rule: 'manifest-too-large' }]);
  });
});

describe('YAML nesting depth', () => {
  const nested = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

  it(`${MAX_YAML_DEPTH} levels load; one more is yaml-depth, at the line it happens`, async () => {
    const ok = await loadAs('plain', HEAD, `- name: foo\n  dmap:\n    "sha256:${'a'.repeat(64)}": ["v1"]\n  x: ${nested(MAX_YAML_DEPTH - 3)}\n`);
    expect(ok.result.errors.map((e) => e.rule)).toEqual(['unknown-key']); // parsed all the way: only the schema speaks
    const deep = await loadAs('plain', HEAD, `- name: foo\n  dmap:\n    "sha256:${'a'.repeat(64)}": ["v1"]\n  x: ${nested(MAX_YAML_DEPTH - 2)}\n`);
    expect(findings(deep.result)).toEqual([['promoter.yaml', HEAD.split('\n').length + 4, 'yaml-depth']]);
  });

  it('50,000 nested brackets: yaml-depth (the parser used to overflow its stack), on both layouts', async () => {
    for (const layout of ['plain', 'thin'] as const) {
      const l = await loadAs(layout, HEAD, `- ${nested(50_000)}\n`);
      expect(findings(l.result)).toEqual([[l.imagesFile, layout === 'plain' ? HEAD.split('\n').length + 1 : 1, 'yaml-depth']]);
      expect(l.result.errors[0]!.message).toBe(`collections nested deeper than ${MAX_YAML_DEPTH} levels`);
    }
  });

  it('block nesting counts too: 100 sequences in one another', async () => {
    const l = await loadAs('thin', HEAD, `${'- '.repeat(100)}x\n`);
    expect(findings(l.result)).toEqual([['images/p/images.yaml', 1, 'yaml-depth']]);
  });

  it('brackets in strings, comments and block scalars are not nesting', async () => {
    const text = `- name: foo # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
  dmap:
    "sha256:${'a'.repeat(64)}": ["v1"]
`;
    const head = `${HEAD}provenance:\n  builders:\n  - "${'['.repeat(100)}"\n  - '${'{'.repeat(100)}'\n  - |\n    ${'['.repeat(100)}\n`;
    const l = await loadAs('plain', head, text);
    expect(l.result.errors).toEqual([]);
    expect(l.result.bundle!.projects[0]!.provenance.builders).toEqual(['['.repeat(100), '{'.repeat(100), `${'['.repeat(100)}\n`]);
  });
});
