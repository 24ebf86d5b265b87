// The bundle contract: canonical JSON, its hash, its schema, counting, image refs.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import {
  ManifestBundleError,
  ManifestBundleSchema,
  bundleSha256,
  canonicalJson,
  countBundle,
  countProject,
  loadPlainManifest,
  loadThinManifests,
  parseManifestBundle,
  type ManifestBundle,
  type Project,
} from '../../../lib/manifests';
import { D1, D2, D3 } from './helpers';

const project = (over: Partial<Project> = {}): Project => ({
  name: 'p',
  file: 'manifests/p/promoter-manifest.yaml',
  source: '127.0.0.1:5001/staging',
  destinations: ['127.0.0.1:5002/prod', '127.0.0.1:5003/mirror'],
  images: [
    { name: 'foo', dmap: { [D1]: ['v1', 'latest'], [D2]: [] } },
    { name: 'bar/baz', dmap: { [D3]: ['v2'] } },
  ],
  signatures: { mode: 'if-present', keys: [], identities: [{ issuer: 'https://accounts.google.com', subject: 'a@b.c' }] },
  provenance: { mode: 'warn', builders: ['https://b'], sources: ['git+https://github.com/x/'], keys: [], identities: [] },
  ...over,
});

/** The same value with every object's keys inserted in reverse order. */
function reversed<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reversed) as T;
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reversed(x)]),
    ) as T;
  }
  return v;
}

describe('canonicalJson and bundleSha256', () => {
  const bundle: ManifestBundle = { version: 1, projects: [project()] };

  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }, 3], u: undefined })).toBe('{"a":[{"c":2,"d":1},3],"b":1}');
    const json = canonicalJson(bundle);
    expect(JSON.parse(json)).toEqual(bundle);
    expect(json.indexOf('"destinations"')).toBeLessThan(json.indexOf('"file"'));
    expect(json).not.toContain('\n');
  });

  it('is stable under key reordering, and only there', () => {
    const shuffled = reversed(bundle);
    expect(Object.keys(shuffled)).toEqual(['projects', 'version']);
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(bundle));
    expect(canonicalJson(shuffled)).toBe(canonicalJson(bundle));
    expect(bundleSha256(shuffled)).toBe(bundleSha256(bundle));
    expect(bundleSha256(bundle)).toMatch(/^[0-9a-f]{64}$/);
    // A real change changes the hash; so does the order of a list.
    const moved = structuredClone(bundle);
    moved.projects[0]!.images[0]!.dmap[D1] = ['v1', 'latest2'];
    expect(bundleSha256(moved)).not.toBe(bundleSha256(bundle));
    const reordered = structuredClone(bundle);
    reordered.projects[0]!.destinations.reverse();
    expect(bundleSha256(reordered)).not.toBe(bundleSha256(bundle));
  });

  it('hashes a known value to a known digest', () => {
    // sha256 of the exact text {"a":1}
    expect(bundleSha256({ a: 1 } as unknown as ManifestBundle)).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });
});

describe('registry lines in the bundle', () => {
  it('a bundle stored before they existed parses and hashes as it did; the lines are not part of the identity', () => {
    const old: ManifestBundle = { version: 1, projects: [project()] };
    const stored = canonicalJson(old);
    expect(stored).not.toContain('registryLines');
    const back = ManifestBundleSchema.parse(JSON.parse(stored));
    expect(back).toEqual(old);
    expect(bundleSha256(back)).toBe(bundleSha256(old));
    const located: ManifestBundle = { version: 1, projects: [project({ registryLines: { source: 3, destinations: [5, 6] } })] };
    expect(ManifestBundleSchema.parse(JSON.parse(canonicalJson(located)))).toEqual(located);
    // The same manifests with a line added above the registries are the same promotion.
    expect(bundleSha256(located)).toBe(bundleSha256(old));
    expect(canonicalJson(located)).toContain('"registryLines"');
  });
});

describe('ManifestBundleSchema', () => {
  it('accepts a bundle and refuses unknown keys, bad digests and a missing version', () => {
    const bundle: ManifestBundle = { version: 1, projects: [project()] };
    expect(ManifestBundleSchema.parse(bundle)).toEqual(bundle);
    expect(ManifestBundleSchema.safeParse({ ...bundle, extra: 1 }).success).toBe(false);
    expect(ManifestBundleSchema.safeParse({ projects: [] }).success).toBe(false);
    const bad = structuredClone(bundle);
    bad.projects[0]!.images[0]!.dmap['sha256:abc'] = [];
    expect(ManifestBundleSchema.safeParse(bad).success).toBe(false);
    const twoSubjects = structuredClone(bundle);
    twoSubjects.projects[0]!.signatures.identities[0]!.subjectRegExp = '.*';
    expect(ManifestBundleSchema.safeParse(twoSubjects).success).toBe(false);
    const notPem = structuredClone(bundle);
    notPem.projects[0]!.provenance.keys = ['keys/release.pub'];
    expect(ManifestBundleSchema.safeParse(notPem).success).toBe(false);
  });
});

describe('parseManifestBundle: what a worker reads back from S3', () => {
  const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/manifests');
  const refused = (value: unknown): string => {
    try {
      parseManifestBundle(typeof value === 'string' ? value : JSON.stringify(value));
    } catch (err) {
      expect(err).toBeInstanceOf(ManifestBundleError);
      expect(err).toMatchObject({ retryable: false });
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('gives back exactly what the loader wrote, from JSON text or bytes', async () => {
    for (const loaded of [await loadPlainManifest(path.join(FIXTURES, 'plain/good.yaml')), await loadThinManifests(path.join(FIXTURES, 'thin/good'))]) {
      const bundle = loaded.bundle!;
      expect(parseManifestBundle(canonicalJson(bundle))).toEqual(bundle);
      expect(parseManifestBundle(Buffer.from(canonicalJson(bundle)))).toEqual(bundle);
    }
  });

  it('refuses what no loaded manifest can be, naming where', () => {
    const good = (): ManifestBundle => ({
      version: 1,
      projects: [project({ name: 'a' }), project({ name: 'b', images: [{ name: 'other', dmap: { [D1]: ['v1'] } }] })],
    });
    expect(parseManifestBundle(good())).toEqual(good());
    expect(refused('{"version":1,')).toMatch(/^invalid manifest bundle: not JSON/);
    const unanchored = good();
    unanchored.projects[1]!.signatures.identities = [{ issuer: 'https://accounts.google.com', subjectRegExp: 'krel-trust@k8s-releng-prod' }];
    expect(refused(unanchored)).toMatch(
      /projects\[1\]\.signatures\.identities\[0\]\.subjectRegExp: identity-regexp-anchored: subjectRegExp "krel-trust@k8s-releng-prod" is not anchored/,
    );
    const upper = good();
    upper.projects[0]!.destinations = ['Reg.example.com/prod'];
    expect(refused(upper)).toMatch(/projects\[0\]\.destinations\[0\]: a registry name in normalized spelling/);
    const port443 = good();
    port443.projects[0]!.source = 'staging.example.com:443/s';
    expect(refused(port443)).toMatch(/projects\[0\]\.source: a registry name in normalized spelling/);
    const unsorted = good();
    unsorted.projects.reverse();
    expect(refused(unsorted)).toMatch(/projects\[1\] \(a\): projects must be sorted by name/);
    const twice = good();
    twice.projects[0]!.destinations.push(twice.projects[0]!.destinations[0]!);
    expect(refused(twice)).toMatch(/a destination is listed twice/);
    const loop = good();
    loop.projects[0]!.destinations.push(loop.projects[0]!.source);
    expect(refused(loop)).toMatch(/is both the source and a destination/);
    const conflict = good();
    conflict.projects[1]!.images = [{ name: 'foo', dmap: { [D3]: ['v1'] } }];
    expect(refused(conflict)).toMatch(
      /projects\[1\] \(b\): tag v1 would point 127\.0\.0\.1:5002\/prod\/foo at sha256:0eee.*but project a promotes sha256:bb4e/,
    );
    const inImage = good();
    inImage.projects[0]!.images[0]!.dmap[D2] = ['v1'];
    expect(refused(inImage)).toMatch(/tag v1 of image foo is claimed by/);
    const crlfKey = good();
    crlfKey.projects[0]!.provenance.keys = ['-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n'];
    expect(refused(crlfKey)).toMatch(/projects\[0\]\.provenance\.keys\[0\]: a PEM public key that parses/);
  });

  it('lists every problem, the first ten in the message', () => {
    const many: ManifestBundle = {
      version: 1,
      projects: Array.from({ length: 12 }, (_, i) => project({ name: `p${String(i).padStart(2, '0')}`, destinations: ['127.0.0.1:5001/staging'] })),
    };
    try {
      parseManifestBundle(many);
      throw new Error('accepted');
    } catch (err) {
      expect((err as ManifestBundleError).problems.length).toBeGreaterThanOrEqual(12);
      expect((err as Error).message).toMatch(/; and \d+ more$/);
    }
  });
});

describe('counting', () => {
  it('counts a project: tagless digests once, repeated tags and destinations once', () => {
    const p = project({ destinations: ['r.io/a', 'r.io/b', 'r.io/a'] });
    p.images[0]!.dmap[D1] = ['v1', 'latest', 'v1'];
    expect(countProject(p)).toEqual({ images: 2, digests: 3, tagPairs: 3, destinations: 2, uniqueEdges: 2 * (2 + 1 + 1) });
  });

  it('counts digests per project, summed, and edges once per destination repository', () => {
    const a = project({ name: 'a', destinations: ['r.io/prod'] });
    const b = project({
      name: 'b',
      destinations: ['r.io/prod', 'r.io/other'],
      images: [{ name: 'foo', dmap: { [D1]: ['v1', 'v9'], [D2]: ['v3'] } }],
    });
    // a: foo D1 v1, D1 latest, D2 (tagless); bar/baz D3 v2 -> 4 edges to r.io/prod.
    // b into r.io/prod/foo adds D1 v9 and D2 v3 (D1 v1 is already there): 2; into r.io/other: 3.
    expect(countBundle({ version: 1, projects: [a, b] })).toEqual({ projects: 2, images: 3, digests: 3 + 2, tagPairs: 3 + 3, uniqueEdges: 4 + 2 + 3 });
  });
});
