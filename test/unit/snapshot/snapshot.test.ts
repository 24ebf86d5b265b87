import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImagesFile } from '../../../lib/manifests';
import { CatalogError } from '../../../lib/oci';
import { formatSnapshot, readSnapshot, SnapshotError, type DigestEvidence, type SnapshotRegistry } from '../../../lib/snapshot';

const D = (c: string) => `sha256:${c.repeat(64)}`;

/** An in-memory registry: repository -> tag -> digest; `catalog: false` answers like olareg. */
function fakeRegistry(repos: Record<string, Record<string, string>>, opts: { catalog?: boolean } = {}): SnapshotRegistry & { heads: number } {
  const reg = {
    heads: 0,
    async listRepositories(host: string) {
      if (opts.catalog === false) throw new CatalogError('unavailable', host, `${host} does not list its repositories`);
      return Object.keys(repos);
    },
    async listTags(_host: string, repository: string) {
      return Object.keys(repos[repository] ?? {});
    },
    async tagDigest(_host: string, repository: string, tag: string) {
      reg.heads++;
      return repos[repository]?.[tag];
    },
  };
  return reg;
}

const REPOS = {
  'prod/app': { v1: D('a'), latest: D('a'), v2: D('b'), [`sha256-${'a'.repeat(64)}.sig`]: D('c'), [`sha256-${'a'.repeat(64)}`]: D('d') },
  'prod/team/tool': { '1.0': D('e') },
  'prod/only-signatures': { [`sha256-${'f'.repeat(64)}.sig`]: D('c') },
  'prodother/app': { v9: D('9') },
  'staging/app': { v1: D('1') },
};

describe('readSnapshot', () => {
  it('lists every image below the prefix with its digests and tags, signature tags left out', async () => {
    const reg = fakeRegistry(REPOS);
    const s = await readSnapshot(reg, 'reg.example/prod');
    expect(s.images).toEqual([
      { name: 'app', dmap: { [D('a')]: ['latest', 'v1'], [D('b')]: ['v2'] } },
      { name: 'team/tool', dmap: { [D('e')]: ['1.0'] } },
    ]);
    expect(reg.heads).toBe(4); // one HEAD per tag, none for signature or fallback tags
    expect(s.skipped).toEqual(['reg.example/prod/only-signatures: no tag (tagless digests are invisible to tags/list)']);
  });

  it('reads a whole registry without a prefix, and named images without the catalog', async () => {
    const whole = await readSnapshot(fakeRegistry(REPOS), 'reg.example');
    expect(whole.images.map((i) => i.name)).toEqual(['prod/app', 'prod/team/tool', 'prodother/app', 'staging/app']);
    const named = await readSnapshot(fakeRegistry(REPOS, { catalog: false }), 'reg.example/prod', ['team/tool', 'team/tool']);
    expect(named.images).toEqual([{ name: 'team/tool', dmap: { [D('e')]: ['1.0'] } }]);
    await expect(readSnapshot(fakeRegistry(REPOS, { catalog: false }), 'reg.example/prod')).rejects.toBeInstanceOf(CatalogError);
  });

  it('leaves out what a hostile registry answers outside the grammars, saying so', async () => {
    const reg = fakeRegistry({ 'prod/ok': { v1: D('a'), 'bad tag': D('a'), v2: 'md5:abc' }, 'prod/../../etc': { v1: D('a') }, 'prod/UPPER': { v1: D('a') } });
    const s = await readSnapshot(reg, 'reg.example/prod');
    expect(s.images).toEqual([{ name: 'ok', dmap: { [D('a')]: ['v1'] } }]);
    expect(s.skipped).toEqual([
      'reg.example/prod/ok: tag "bad tag" is outside the tag grammar',
      'reg.example/prod/ok:v2: the registry answered digest "md5:abc"',
      'repository "prod/../../etc" is outside the repository grammar',
      'repository "prod/UPPER" is outside the repository grammar',
    ]);
  });

  it('stops at its limits instead of reading without end', async () => {
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`prod/r${i}`, { v1: D('a') }]));
    await expect(readSnapshot(fakeRegistry(many), 'reg.example/prod', undefined, { maxRepositories: 4 })).rejects.toThrow(/holds 5 repositories, more than 4/);
    const tags = { 'prod/app': Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`v${i}`, D('a')])) };
    await expect(readSnapshot(fakeRegistry(tags), 'reg.example/prod', undefined, { maxTagsPerRepository: 5 })).rejects.toBeInstanceOf(SnapshotError);
    await expect(readSnapshot(fakeRegistry({}), 'not a registry')).rejects.toThrow(/not a registry name/);
    await expect(readSnapshot(fakeRegistry({}), 'reg.example/prod', ['Bad'])).rejects.toThrow(/not an image name/);
  });
});

describe('formatSnapshot', () => {
  const snapshot = {
    registry: 'reg.example/prod',
    images: [
      { name: 'app', dmap: { [D('a')]: ['latest', 'v1'], [D('b')]: ['v2'] } },
      { name: 'team/tool', dmap: { [D('e')]: ['1.0'] } },
    ],
    skipped: [],
  };
  const evidence = (signature: DigestEvidence['signature'], attestation: DigestEvidence['attestation']): DigestEvidence => ({
    signature,
    attestation,
    signatureFormats: [],
  });

  it("prints kpromo's images.yaml, which loads back as a valid images file with the same content", async () => {
    const text = formatSnapshot(snapshot, 'yaml');
    expect(text).toBe(
      [
        '- name: app',
        '  dmap:',
        `    "${D('a')}": ["latest", "v1"]`,
        `    "${D('b')}": ["v2"]`,
        '- name: team/tool',
        '  dmap:',
        `    "${D('e')}": ["1.0"]`,
        '',
      ].join('\n'),
    );
    const file = join(await mkdtemp(join(tmpdir(), 'snapshot-')), 'images.yaml');
    await writeFile(file, text);
    expect(await loadImagesFile(file)).toEqual({ images: snapshot.images, errors: [] });
  });

  it('notes the evidence as YAML comments, so the file stays a valid images file', async () => {
    const noted = (i: (typeof snapshot.images)[number]) => Object.fromEntries(Object.keys(i.dmap).map((d) => [d, evidence('verified', 'missing')]));
    const withEvidence = { ...snapshot, images: snapshot.images.map((i) => ({ ...i, evidence: noted(i) })) };
    const text = formatSnapshot(withEvidence, 'yaml');
    expect(text).toContain(`    "${D('b')}": ["v2"]  # signature: verified, attestation: missing\n`);
    const file = join(await mkdtemp(join(tmpdir(), 'snapshot-')), 'images.yaml');
    await writeFile(file, text);
    expect((await loadImagesFile(file)).images).toEqual(snapshot.images);
  });

  it('prints JSON with the registry, and CSV with one row per tag', () => {
    expect(JSON.parse(formatSnapshot(snapshot, 'json'))).toEqual({ registry: 'reg.example/prod', images: snapshot.images });
    const rows = ['name,digest,tag', `app,${D('a')},latest`, `app,${D('a')},v1`, `app,${D('b')},v2`, `team/tool,${D('e')},1.0`];
    expect(formatSnapshot(snapshot, 'csv')).toBe(`${rows.join('\n')}\n`);
    const one = { ...snapshot, images: [{ name: 'app', dmap: { [D('b')]: ['v2'] }, evidence: { [D('b')]: evidence('unverified', 'verified') } }] };
    expect(formatSnapshot(one, 'csv')).toBe(['name,digest,tag,signature,attestation', `app,${D('b')},v2,unverified,verified`, ''].join('\n'));
  });

  it('prints an empty list for a prefix that holds nothing', () => {
    expect(formatSnapshot({ ...snapshot, images: [] }, 'yaml')).toBe('[]\n');
  });
});

describe('loadImagesFile', () => {
  it('refuses a bad images file with file, line and rule', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'snapshot-')), 'images.yaml');
    await writeFile(file, `- name: app\n  dmap:\n    "sha256:abc": ["v1"]\n`);
    const r = await loadImagesFile(file);
    expect(r.images).toBeUndefined();
    expect(r.errors).toEqual([expect.objectContaining({ file: 'images.yaml', line: 3, rule: 'digest-format' })]);
    expect((await loadImagesFile(join(tmpdir(), 'no-such-dir-x', 'images.yaml'))).errors[0]).toMatchObject({ rule: 'file-read' });
  });
});
