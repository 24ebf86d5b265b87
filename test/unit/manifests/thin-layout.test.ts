// The thin layout's own rules: which files exist, where, and as what.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadThinManifests } from '../../../lib/manifests';
import { D1, D2, HEAD, IMAGES, findings, tempDir, writeTree } from './helpers';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/manifests/thin/good');
const M = (p: string) => `manifests/${p}/promoter-manifest.yaml`;
const I = (p: string) => `images/${p}/images.yaml`;

async function tree(files: Record<string, string>): Promise<string> {
  const root = await tempDir('thin-');
  await writeTree(root, files);
  return root;
}

describe('thin layout', () => {
  it('loads the good fixture: CRLF, comment-only images, imagesPath, a README', async () => {
    const r = await loadThinManifests(FIXTURE);
    expect(r.errors).toEqual([]);
    expect(findings(r, 'warnings')).toEqual([['manifests/README.md', 0, 'thin-stray-file']]);
    const b = r.bundle!;
    expect(b.projects.map((p) => [p.name, p.file, p.source, p.destinations])).toEqual([
      ['alpha', M('alpha'), '127.0.0.1:5001/staging/alpha', ['127.0.0.1:5002/prod', '127.0.0.1:5003/mirror']],
      ['beta', M('beta'), '127.0.0.1:5001/staging/beta', ['127.0.0.1:5002/prod', '127.0.0.1:5004/mirror']],
    ]);
    expect(b.projects[0]!.images).toEqual([{ name: 'alpha', dmap: { [D1]: ['v1.0.0'], [D2]: ['v1.1.0'] } }]);
    expect(b.projects[0]!.signatures.mode).toBe('off');
    expect(b.projects[1]!.images).toEqual([]);
    expect(b.projects[1]!.provenance.mode).toBe('off');
    expect(r.counts).toEqual({ projects: 2, images: 1, digests: 2, tagPairs: 2, uniqueEdges: 4 });
  });

  it('needs the root, manifests/ and images/', async () => {
    const missing = path.join(await tempDir(), 'nope');
    expect(findings(await loadThinManifests(missing))).toEqual([['.', 0, 'thin-layout']]);
    expect(findings(await loadThinManifests(await tree({ [M('p')]: HEAD })))).toEqual([['images', 0, 'thin-missing-dir']]);
    expect(findings(await loadThinManifests(await tree({ [I('p')]: IMAGES })))).toEqual([['manifests', 0, 'thin-missing-dir']]);
  });

  it('needs at least one project', async () => {
    const root = await tree({ 'images/.keep': '' });
    await mkdir(path.join(root, 'manifests'));
    expect(findings(await loadThinManifests(root))).toEqual([['manifests', 0, 'thin-no-projects']]);
  });

  it('fails a manifest without images.yaml, naming the manifest', async () => {
    const root = await tree({ [M('a')]: HEAD, [I('a')]: IMAGES, [M('b')]: HEAD });
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([[M('b'), 1, 'thin-missing-images']]);
    expect(r.errors[0]!.message).toContain('images/b/images.yaml');
    expect(r.counts.projects).toBe(1);
  });

  it('fails an images.yaml that is a symlink, even to a valid file', async () => {
    const root = await tree({ [M('p')]: HEAD, 'elsewhere/images.yaml': IMAGES });
    await mkdir(path.join(root, 'images/p'), { recursive: true });
    await symlink(path.join(root, 'elsewhere/images.yaml'), path.join(root, I('p')));
    expect(findings(await loadThinManifests(root))).toEqual([[I('p'), 0, 'thin-symlink']]);
  });

  it('fails a symlinked promoter-manifest.yaml, project folder or manifests/ folder', async () => {
    const a = await tree({ 'elsewhere/m.yaml': HEAD, [I('p')]: IMAGES });
    await mkdir(path.join(a, 'manifests/p'), { recursive: true });
    await symlink('../../elsewhere/m.yaml', path.join(a, M('p')));
    expect(findings(await loadThinManifests(a))).toEqual([[M('p'), 0, 'thin-symlink']]);

    const b = await tree({ 'elsewhere/p/promoter-manifest.yaml': HEAD, [I('p')]: IMAGES, [M('q')]: HEAD, [I('q')]: IMAGES });
    await symlink(path.join(b, 'elsewhere/p'), path.join(b, 'manifests/p'));
    expect(findings(await loadThinManifests(b))).toEqual([['manifests/p', 0, 'thin-symlink']]);

    const c = await tree({ 'real/p/promoter-manifest.yaml': HEAD, [I('p')]: IMAGES });
    await symlink(path.join(c, 'real'), path.join(c, 'manifests'));
    expect(findings(await loadThinManifests(c))).toEqual([['manifests', 0, 'thin-symlink']]);
  });

  it('fails YAML in unexpected places and warns about other stray files', async () => {
    const root = await tree({
      [M('p')]: HEAD,
      [I('p')]: IMAGES,
      // As upstream: a promoter manifest placed under images/, and a misspelt images file.
      'images/p/promoter-manifest.yaml': HEAD,
      'images/p/imaegs.yaml': IMAGES,
      'manifests/extra.yaml': HEAD,
      'manifests/p/sub/deep.yml': HEAD,
      'manifests/README.md': '# readme\n',
      'manifests/go.mod': 'module x\n',
      'images/p/notes.txt': 'x\n',
    });
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([
      ['images/p/imaegs.yaml', 0, 'thin-unexpected-file'],
      ['images/p/promoter-manifest.yaml', 0, 'thin-unexpected-file'],
      ['manifests/extra.yaml', 0, 'thin-unexpected-file'],
      ['manifests/p/sub/deep.yml', 0, 'thin-unexpected-file'],
    ]);
    expect(findings(r, 'warnings')).toEqual([
      ['images/p/notes.txt', 0, 'thin-stray-file'],
      ['manifests/README.md', 0, 'thin-stray-file'],
      ['manifests/go.mod', 0, 'thin-stray-file'],
    ]);
  });

  it('fails images without a manifest and a project folder without a manifest', async () => {
    const root = await tree({ [M('p')]: HEAD, [I('p')]: IMAGES, [I('orphan')]: IMAGES, 'manifests/empty/README.md': 'x' });
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([
      [I('orphan'), 1, 'thin-orphan-images'],
      ['manifests/empty', 0, 'thin-missing-manifest'],
    ]);
  });

  it('fails an empty promoter-manifest.yaml but reads an empty images.yaml as no images', async () => {
    const r = await loadThinManifests(await tree({ [M('p')]: '# nothing yet\n', [I('p')]: '' }));
    expect(findings(r)).toEqual([[M('p'), 1, 'empty-manifest']]);
    const ok = await loadThinManifests(await tree({ [M('p')]: HEAD, [I('p')]: '' }));
    expect(ok.errors).toEqual([]);
    expect(ok.bundle!.projects[0]!.images).toEqual([]);
  });

  it('accepts imagesPath, warning only when it points elsewhere', async () => {
    const same = await loadThinManifests(await tree({ [M('p')]: `${HEAD}imagesPath: "../../images/p/images.yaml"\n`, [I('p')]: IMAGES }));
    expect(same.errors).toEqual([]);
    expect(same.warnings).toEqual([]);
    const other = await loadThinManifests(await tree({ [M('p')]: `${HEAD}imagesPath: other.yaml\n`, [I('p')]: IMAGES }));
    expect(other.errors).toEqual([]);
    expect(findings(other, 'warnings')).toEqual([[M('p'), 7, 'images-path-ignored']]);
  });

  it('fails one tag with two digests across projects that share a destination repository', async () => {
    const head = (p: string) => `registries:\n- name: 127.0.0.1:5001/${p}\n  src: true\n- name: 127.0.0.1:5002/prod\n`;
    const root = await tree({
      [M('a')]: head('a'),
      [I('a')]: `- name: foo\n  dmap:\n    "${D1}": ["v1", "shared"]\n`,
      [M('b')]: head('b'),
      [I('b')]: `- name: foo\n  dmap:\n    "${D1}": ["shared"]\n    "${D2}": ["v1"]\n`,
    });
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([[I('b'), 4, 'tag-conflict']]);
    expect(r.errors[0]!.message).toContain('images/a/images.yaml:3');
    // The agreeing (D1, shared) edge counts once: a: v1, shared; b: D2 v1 (conflicting, still counted), nothing new for shared.
    expect(r.counts.uniqueEdges).toBe(3);
  });

  it('sees one repository reached through two registry prefixes', async () => {
    const root = await tree({
      [M('a')]: `registries:\n- name: 127.0.0.1:5001/a\n  src: true\n- name: 127.0.0.1:5002/prod\n`,
      [I('a')]: `- name: x/foo\n  dmap:\n    "${D1}": ["v1"]\n`,
      [M('b')]: `registries:\n- name: 127.0.0.1:5001/b\n  src: true\n- name: 127.0.0.1:5002/prod/x\n`,
      [I('b')]: `- name: foo\n  dmap:\n    "${D2}": ["v1"]\n`,
    });
    expect(findings(await loadThinManifests(root))).toEqual([[I('b'), 3, 'tag-conflict']]);
  });

  it('reports findings of several projects together, sorted by file and line', async () => {
    const root = await tree({
      [M('b')]: `${HEAD}extra: 1\n`,
      [I('b')]: `- name: foo\n  dmap:\n    "sha256:00": []\n`,
      [M('a')]: HEAD,
      [I('a')]: `- name: foo\n  dmap: {}\n`,
    });
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([
      [I('a'), 2, 'empty-dmap'],
      [I('b'), 3, 'digest-format'],
      [M('b'), 7, 'unknown-key'],
    ]);
    expect(r.bundle).toBeUndefined();
  });

  it('does not follow a key path into a missing file, and resolves it from the manifest folder', async () => {
    const root = await tree({ [M('p')]: `${HEAD}signatures:\n  keys: [../../keys/k.pub]\n`, [I('p')]: IMAGES });
    expect(findings(await loadThinManifests(root))).toEqual([[M('p'), 8, 'key-file']]);
    await mkdir(path.join(root, 'keys'));
    const pem = await import('node:fs/promises').then((fs) =>
      fs.readFile(path.resolve(import.meta.dirname, '../../fixtures/manifests/plain/keys/release.pub'), 'utf8'),
    );
    await writeFile(path.join(root, 'keys/k.pub'), pem.replace(/\n/g, '\r\n'));
    const r = await loadThinManifests(root);
    expect(r.errors).toEqual([]);
    expect(r.bundle!.projects[0]!.signatures.keys).toEqual([pem]);
  });
});
