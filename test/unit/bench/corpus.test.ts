// The k8s shape's selections of the corpus, and where each tool's copies go.
import { describe, expect, it } from 'vitest';
import { peerDestination } from '../../../scripts/bench/common/workload';
import { readCorpus, selectCorpus } from '../../../scripts/bench/shape/corpus';

describe('selectCorpus', () => {
  const all = readCorpus();

  it('scales every project down to at least one digest, and drops a project that lists no image', () => {
    const empty = all.find((p) => p.images.length === 0);
    expect(empty?.name).toBe('k8s-staging-llm-instance-gateway');
    const scaled = selectCorpus(all, { scale: 0.1 });
    expect(scaled.map((p) => p.name)).not.toContain(empty!.name);
    expect(scaled).toHaveLength(all.filter((p) => p.images.some((i) => i.dmap.length > 0)).length);
    for (const p of scaled) expect(p.images.reduce((n, i) => n + i.dmap.length, 0)).toBeGreaterThan(0);
    const digests = (ps: typeof all) => ps.reduce((n, p) => n + p.images.reduce((m, i) => m + i.dmap.length, 0), 0);
    expect(digests(scaled)).toBeLessThan(digests(all) * 0.2);
  });

  it('takes named projects, then the first N of them, then the fraction', () => {
    const picked = selectCorpus(all, {
      projects: ['k8s-staging-llm-instance-gateway', 'k8s-staging-coredns', 'k8s-staging-kro'],
      firstProjects: 2,
      scale: 0.1,
    });
    expect(picked.map((p) => p.name)).toEqual(['k8s-staging-coredns', 'k8s-staging-kro']);
    expect(() => selectCorpus(all, { projects: ['k8s-staging-nothing'] })).toThrow(/not a valid corpus project/);
  });
});

describe('peerDestination', () => {
  it("puts a peer's copies beside the promoter's, on the same registry", () => {
    expect(peerDestination('shape-x', '127.0.0.1:4000/shape-x/region-03/images', 'regsync')).toBe('127.0.0.1:4000/shape-x/regsync/region-03/images');
    expect(() => peerDestination('shape-x', '127.0.0.1:4000/other/images', 'skopeo')).toThrow(/bench prefix/);
  });
});
