// Registry names are compared and stored in one spelling (lib/oci/reference.ts normalizeRegistry):
// host names case-insensitive, :443 the default, Docker Hub's aliases one registry. Otherwise
// `Reg.example.com` and `reg.example.com` would be two registries to every rule that compares them.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleSha256, loadPlainManifest, loadThinManifests } from '../../../lib/manifests';
import { D1, D2, IMAGES, findings, loadAs, tempDir, writeTree } from './helpers';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/manifests');

const M = (p: string) => `manifests/${p}/promoter-manifest.yaml`;
const I = (p: string) => `images/${p}/images.yaml`;
const head = (source: string, ...destinations: string[]) =>
  `registries:\n- name: ${source}\n  src: true\n${destinations.map((d) => `- name: ${d}\n`).join('')}`;

describe('registry names in one spelling', () => {
  it('two projects giving one tag two digests in Reg.example.com and reg.example.com: tag-conflict', async () => {
    const root = await tempDir('names-');
    await writeTree(root, {
      [M('a')]: head('staging.example.com/a', 'reg.example.com/prod'),
      [I('a')]: `- name: app\n  dmap:\n    "${D1}": ["v1"]\n`,
      [M('b')]: head('staging.example.com/b', 'Reg.Example.com:443/prod'),
      [I('b')]: `- name: app\n  dmap:\n    "${D2}": ["v1"]\n`,
    });
    const r = await loadThinManifests(root);
    expect(findings(r)).toEqual([[I('b'), 3, 'tag-conflict']]);
    expect(r.errors[0]!.message).toContain('reg.example.com/prod/app');
  });

  it('Docker Hub aliases are one registry', async () => {
    const root = await tempDir('names-hub-');
    await writeTree(root, {
      [M('a')]: head('staging.example.com/a', 'docker.io/org'),
      [I('a')]: `- name: app\n  dmap:\n    "${D1}": ["v1"]\n`,
      [M('b')]: head('staging.example.com/b', 'index.docker.io/org'),
      [I('b')]: `- name: app\n  dmap:\n    "${D2}": ["v1"]\n`,
    });
    expect(findings(await loadThinManifests(root))).toEqual([[I('b'), 3, 'tag-conflict']]);
  });

  it('the bundle carries the normalized names; a destination given twice in two spellings is one', async () => {
    const l = await loadAs(
      'plain',
      `${head('Staging.Example.COM:443/s', 'REG.example.com/prod', 'reg.example.com:443/prod', 'registry-1.docker.io:443/org', 'mirror.example.com:05000/m')}`,
      IMAGES,
    );
    expect(l.result.errors).toEqual([]);
    expect(findings(l.result, 'warnings')).toEqual([['promoter.yaml', 5, 'duplicate-destination']]);
    expect(l.result.warnings[0]!.message).toContain('(as reg.example.com:443/prod)');
    const p = l.result.bundle!.projects[0]!;
    expect(p.source).toBe('staging.example.com/s');
    expect(p.destinations).toEqual(['reg.example.com/prod', 'docker.io/org', 'mirror.example.com:5000/m']);
  });

  it('the source spelled as a destination in another case: source-is-destination', async () => {
    const l = await loadAs('plain', head('reg.example.com/x', 'REG.example.com/x'), IMAGES);
    expect(findings(l.result)).toEqual([['promoter.yaml', 4, 'source-is-destination']]);
  });

  it('lower-case manifests keep their bundle hash (the fixtures, as before names were normalized)', async () => {
    const plain = await loadPlainManifest(path.join(FIXTURES, 'plain/good.yaml'));
    const thin = await loadThinManifests(path.join(FIXTURES, 'thin/good'));
    expect(bundleSha256(plain.bundle!)).toBe('7c7c14072c3a63983e583cf1c4a4bb9a7a4c54cf1f1037b3459d81cf5b28b27b');
    expect(bundleSha256(thin.bundle!)).toBe('5c364caa3a502760cc41c9b3fd7da911db0e152ca23009bc305f0efb947376af');
  });
});
