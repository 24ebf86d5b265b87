// The plain (one-file) kpromo manifest, from the fixtures in test/fixtures/manifests/plain.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestBundleSchema, bundleSha256, loadPlainManifest } from '../../../lib/manifests';
import { findings } from './helpers';

const DIR = path.resolve(import.meta.dirname, '../../fixtures/manifests/plain');

describe('plain manifest', () => {
  it('normalizes the good fixture into the bundle', async () => {
    const r = await loadPlainManifest(path.join(DIR, 'good.yaml'));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    const b = r.bundle!;
    expect(ManifestBundleSchema.parse(b)).toEqual(b);
    expect(b.projects).toHaveLength(1);
    const p = b.projects[0]!;
    const releasePub = await readFile(path.join(DIR, 'keys/release.pub'), 'utf8');
    expect(p).toEqual({
      name: 'good',
      file: 'good.yaml',
      source: '127.0.0.1:5001/staging',
      destinations: ['127.0.0.1:5002/prod', '127.0.0.1:5003/mirror', '127.0.0.1:5004/mirror'],
      // The line naming each registry, for findings the worker makes later (Setup's allowed hosts).
      registryLines: { source: 4, destinations: [6, 8, 9] },
      images: [
        {
          name: 'foo',
          dmap: {
            'sha256:bb4eca334f61af3b67b5d528907d30285151610200539302f4c8cabe66225b53': ['v1.0.0', 'latest'],
            'sha256:4963bd713a7eb1bce458868b0c8472bdc8bc5929a7892a92dd24344aea92093d': ['v0.9.0'],
          },
        },
        { name: 'bar/baz', dmap: { 'sha256:0eee564df03dd427c2b459d27041e67d23ee2f0deb770261ddf56bff8e043408': [] } },
        { name: 'python_runtime_sandbox', dmap: { 'sha256:ed46ae7d9c501abe9ad982614f07ad0c4dc0f2adc9bb5004ea4b20936bd6b060': ['1.10'] } },
      ],
      signatures: {
        mode: 'require',
        keys: [releasePub, expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE93pp[\s\S]+-----END PUBLIC KEY-----\n$/)],
        identities: [{ issuer: 'https://token.actions.githubusercontent.com', subjectRegExp: '^https://github\\.com/example/.+$' }],
      },
      provenance: {
        mode: 'require',
        builders: ['https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0'],
        sources: ['git+https://github.com/example/'],
        keys: [],
        identities: [{ issuer: 'https://accounts.google.com', subject: 'builder@example.iam.gserviceaccount.com' }],
      },
    });
    // 3 destinations x (foo: 2 + 1, bar/baz: 1 tagless, python_runtime_sandbox: 1)
    expect(r.counts).toEqual({ projects: 1, images: 3, digests: 4, tagPairs: 4, uniqueEdges: 15 });
  });

  it('hashes the same wherever the manifest lives', async () => {
    const a = await loadPlainManifest(path.join(DIR, 'good.yaml'));
    const b = await loadPlainManifest(path.relative(process.cwd(), path.join(DIR, 'good.yaml')));
    expect(bundleSha256(b.bundle!)).toBe(bundleSha256(a.bundle!));
  });

  it('reports every error of the bad fixture, each on the line its comment marks', async () => {
    const file = path.join(DIR, 'bad.yaml');
    const text = await readFile(file, 'utf8');
    const want: [string, number, string][] = [];
    text.split('\n').forEach((line, i) => {
      const m = /# <- ([a-z-]+)/.exec(line);
      if (m && i > 0) want.push(['bad.yaml', i + 1, m[1]!]);
    });
    expect(want).toHaveLength(16);
    const r = await loadPlainManifest(file);
    expect(findings(r)).toEqual(want);
    expect(r.bundle).toBeUndefined();
    // What did load is still counted: foo (one good digest), conflict (two digests), empty (no digest).
    expect(r.counts.images).toBe(3);
  });

  it('names the unreadable, the empty and the non-YAML file', async () => {
    expect(findings(await loadPlainManifest(path.join(DIR, 'missing.yaml')))).toEqual([['missing.yaml', 0, 'file-read']]);
    expect(findings(await loadPlainManifest(path.join(DIR, 'keys/release.pub')))).toEqual([['release.pub', 1, 'wrong-type']]);
  });
});
