// The Kubernetes thin-manifest corpus (an in-repo copy of k8s.io's registry.k8s.io
// manifests, see its SOURCE.md): the validator must agree with STATS.md.
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, countProject, loadThinManifests, parseManifestBundle, type LoadResult, type Project } from '../../../lib/manifests';
import { findings, tempDir } from './helpers';

const CORPUS = path.resolve(import.meta.dirname, '../../fixtures/k8s-thin-manifests');
const BAD_PROJECT = 'k8s-staging-ingress-nginx';

interface StatsRow {
  images: number;
  digestEntries: number;
  distinctDigests: number;
  pairs: number;
  tagless: number;
  destinations: number;
  edges: number;
}

/** The per-project table of STATS.md. */
async function statsTable(): Promise<Map<string, StatsRow>> {
  const text = await readFile(path.join(CORPUS, 'STATS.md'), 'utf8');
  const section = text.slice(text.indexOf('## Per project'), text.indexOf('## Malformed entries'));
  const rows = new Map<string, StatsRow>();
  for (const line of section.split('\n')) {
    const cells = line
      .split('|')
      .map((c) => c.trim())
      .slice(1, -1);
    if (cells.length !== 8 || !/^\d+$/.test(cells[1]!)) continue;
    const n = cells.slice(1).map(Number);
    rows.set(cells[0]!, {
      images: n[0]!,
      digestEntries: n[1]!,
      distinctDigests: n[2]!,
      pairs: n[3]!,
      tagless: n[4]!,
      destinations: n[5]!,
      edges: n[6]!,
    });
  }
  return rows;
}

/** Sum over images and digests of max(tags, 1): the edges one destination gets. */
function unitsPerDestination(p: Project): number {
  let n = 0;
  for (const img of p.images) for (const tags of Object.values(img.dmap)) n += Math.max(tags.length, 1);
  return n;
}

describe('k8s thin-manifest corpus', () => {
  let whole: LoadResult;
  let valid: LoadResult;
  let stats: Map<string, StatsRow>;

  beforeAll(async () => {
    stats = await statsTable();
    whole = await loadThinManifests(CORPUS);
    const copy = await tempDir('corpus-');
    await cp(CORPUS, copy, {
      recursive: true,
      filter: (src) => path.basename(src) !== BAD_PROJECT,
    });
    valid = await loadThinManifests(copy);
  });

  it('is refused for exactly one reason: the 63-hex digest of ingress-nginx, line 203', () => {
    expect(findings(whole)).toEqual([[`images/${BAD_PROJECT}/images.yaml`, 203, 'digest-format']]);
    expect(whole.errors[0]!.message).toContain('sha256:23eb4b1775fbaa2adca55c73cf0341e1224d6308689b6f4b3aa1523312eb81c');
    expect(whole.bundle).toBeUndefined();
    // Best-effort counts leave out only the bad digest (20 destinations x 1 tag).
    expect(whole.counts).toEqual({ projects: 60, images: 212, digests: 2754, tagPairs: 2787, uniqueEdges: 61763 - 20 });
  });

  it('warns only about the destination boskos lists twice', () => {
    expect(findings(whole, 'warnings')).toEqual([['manifests/k8s-staging-boskos/promoter-manifest.yaml', 47, 'duplicate-destination']]);
    expect(whole.warnings[0]!.message).toContain('line 45');
  });

  it('is valid without ingress-nginx: 59 projects, 57,963 unique edges', () => {
    expect(valid.errors).toEqual([]);
    const b = valid.bundle!;
    expect(b.projects).toHaveLength(59);
    expect(b.projects.map((p) => p.name)).toEqual([...stats.keys()].filter((n) => n !== BAD_PROJECT));
    expect(valid.counts).toEqual({ projects: 59, images: 201, digests: 2565, tagPairs: 2598, uniqueEdges: 57963 });
  });

  it("its bundle reads back through parseManifestBundle unchanged (the worker's check of what it loads)", () => {
    expect(parseManifestBundle(canonicalJson(valid.bundle!))).toEqual(valid.bundle);
  });

  it('matches every per-project figure of STATS.md', () => {
    const dupWarnings = new Map<string, number>();
    for (const w of valid.warnings) dupWarnings.set(w.file, (dupWarnings.get(w.file) ?? 0) + 1);
    let edgesAsWritten = 0;
    for (const p of valid.bundle!.projects) {
      const row = stats.get(p.name)!;
      const c = countProject(p);
      const written = c.destinations + (dupWarnings.get(p.file) ?? 0);
      const digestEntries = p.images.reduce((n, img) => n + Object.keys(img.dmap).length, 0);
      const tagless = p.images.reduce((n, img) => n + Object.values(img.dmap).filter((t) => t.length === 0).length, 0);
      expect({ project: p.name, images: c.images, digestEntries, distinctDigests: c.digests, pairs: c.tagPairs, tagless, destinations: written }).toEqual({
        project: p.name,
        images: row.images,
        digestEntries: row.digestEntries,
        distinctDigests: row.distinctDigests,
        pairs: row.pairs,
        tagless: row.tagless,
        destinations: row.destinations,
      });
      expect(unitsPerDestination(p) * written).toBe(row.edges);
      expect(c.uniqueEdges).toBe(unitsPerDestination(p) * c.destinations);
      edgesAsWritten += row.edges;
    }
    expect(edgesAsWritten).toBe(61764 - 3800);
  });

  it('boskos lists 22 destinations, 21 distinct; etcd promotes 680 edges to 40', () => {
    const byName = new Map(valid.bundle!.projects.map((p) => [p.name, p]));
    const boskos = byName.get('k8s-staging-boskos')!;
    expect(boskos.destinations).toHaveLength(21);
    expect(countProject(boskos)).toEqual({ images: 1, digests: 1, tagPairs: 1, destinations: 21, uniqueEdges: 21 });
    const etcd = byName.get('k8s-staging-etcd')!;
    expect(etcd.source).toBe('gcr.io/k8s-staging-etcd');
    expect(countProject(etcd)).toEqual({ images: 2, digests: 17, tagPairs: 17, destinations: 40, uniqueEdges: 680 });
  });

  it('reads the odd files: comment-only, CRLF, unquoted digests, underscore names, imagesPath', () => {
    const byName = new Map(valid.bundle!.projects.map((p) => [p.name, p]));
    const llm = byName.get('k8s-staging-llm-instance-gateway')!;
    expect(llm.images).toEqual([]);
    expect(llm.destinations).toHaveLength(22);
    expect(countProject(llm).uniqueEdges).toBe(0);
    expect(byName.get('k8s-staging-npd')!.images[0]!.name).toBe('node-problem-detector');
    expect(Object.keys(byName.get('k8s-staging-npd')!.images[0]!.dmap)).toHaveLength(15);
    expect(byName.get('k8s-staging-nfd')!.images[0]!.dmap['sha256:d82df7c2bb076211119177b339d4de4af88d1f8b4fa3976c103a0f80a06e964c']).toEqual(['v0.5.0']);
    expect(byName.get('k8s-staging-agent-sandbox')!.images.map((i) => i.name)).toContain('python_runtime_sandbox');
    expect(byName.get('k8s-staging-minikube')!.images).toHaveLength(3);
    // imagesPath is accepted (these manifests carry it) and its value agrees with the layout.
    expect(byName.get('k8s-staging-kueue')!.source).toBe('us-central1-docker.pkg.dev/k8s-staging-images/kueue');
  });
});
