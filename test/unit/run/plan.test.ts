import { describe, expect, it } from 'vitest';
import { computePlan, copyTasks, inventoryQueries, planEdges, repoFor, sourcesToCheck, type Inventory, type PlanInputProject } from '../../../lib/run/plan';
import { mergeTagRecord, recordedDigests } from '../../../lib/run/tag-record';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const meta = { workflowId: 'wf', runId: 'run', bundleSha256: 'x', createdAt: '2026-01-01T00:00:00Z' };

const project: PlanInputProject = {
  name: 'demo',
  source: 'staging.example/p',
  destinations: ['prod.example/images', 'mirror.example/images', 'prod.example/images'],
  images: [{ name: 'app', dmap: { [D1]: ['v1', 'latest'], [D2]: ['v2'], [D3]: [] } }],
};

function inventory(over: Partial<Inventory> = {}): Inventory {
  return {
    sourceDigests: new Set([`staging.example/p/app@${D1}`, `staging.example/p/app@${D3}`]),
    destinationTags: new Map(),
    destinationDigests: new Set(),
    signatureTags: new Map(),
    signedByPromoter: new Map(),
    newRepositories: new Set(),
    ...over,
  };
}

describe('repoFor', () => {
  it('splits host and path prefix', () => {
    expect(repoFor('127.0.0.1:5001/staging', 'foo/bar')).toEqual({ host: '127.0.0.1:5001', repository: 'staging/foo/bar' });
    expect(repoFor('gcr.io', 'foo')).toEqual({ host: 'gcr.io', repository: 'foo' });
  });
});

describe('computePlan', () => {
  it('gives every edge a verdict and counts duplicates as overlaps', () => {
    const inv = inventory({
      destinationTags: new Map([
        [
          'prod.example/images/app',
          new Map([
            ['v1', D1],
            ['latest', D2],
          ]),
        ],
      ]),
      destinationDigests: new Set([`prod.example/images/app@${D1}`]),
    });
    const plan = computePlan([project], inv, meta);
    // 2 distinct destinations x (v1, latest, v2, tagless D3) = 8; the repeated destination adds 4 overlaps.
    expect(plan.counts).toEqual({ total: 8, promote: 4, present: 1, tagMoves: 1, lost: 2, overlaps: 4 });
    const prod = [...planEdges(plan)].filter((e) => e.destination.host === 'prod.example');
    expect(prod.find((e) => e.tag === 'v1')!.verdict).toBe('present');
    expect(prod.find((e) => e.tag === 'latest')).toMatchObject({ verdict: 'tag-move', currentDigest: D2 });
    expect(prod.find((e) => e.tag === 'v2')!.verdict).toBe('lost');
    expect(prod.find((e) => e.tag === null)!.verdict).toBe('promote');
    expect(plan.registries).toEqual(['mirror.example', 'prod.example', 'staging.example']);
  });

  it('an edge already in place is present even when staging lost the digest', () => {
    const inv = inventory({ destinationTags: new Map([['mirror.example/images/app', new Map([['v2', D2]])]]) });
    const plan = computePlan([project], inv, meta);
    expect([...planEdges(plan)].find((e) => e.destination.host === 'mirror.example' && e.tag === 'v2')!.verdict).toBe('present');
  });
});

describe('copyTasks', () => {
  it('groups tags of one digest per destination repository and leaves blocked digests out', () => {
    const plan = computePlan([project], inventory(), meta);
    const tasks = copyTasks(plan);
    expect(tasks).toHaveLength(4); // (D1, D3) x 2 destinations
    const d1prod = tasks.find((t) => t.digest === D1 && t.destination.host === 'prod.example')!;
    expect(d1prod.tags.sort()).toEqual(['latest', 'v1']);
    expect(d1prod.edges).toBe(2);
    expect(copyTasks(plan, new Set([D1])).map((t) => t.digest)).toEqual([D3, D3]);
  });
});

describe('inventoryQueries', () => {
  it('asks each repository once for what the manifests name', () => {
    const q = inventoryQueries([project]);
    expect([...q.sources.keys()]).toEqual(['staging.example/p/app']);
    expect(q.sources.get('staging.example/p/app')!.digests.size).toBe(3);
    expect([...q.destinations.keys()].sort()).toEqual(['mirror.example/images/app', 'prod.example/images/app']);
    expect([...q.destinations.get('prod.example/images/app')!.tags].sort()).toEqual([
      ['latest', D1],
      ['v1', D1],
      ['v2', D2],
    ]);
    expect([...q.destinations.get('prod.example/images/app')!.taglessDigests]).toEqual([D3]);
  });
});

describe('sourcesToCheck', () => {
  it('asks the source only about digests with an edge not already in place', () => {
    const single: PlanInputProject = { ...project, destinations: ['prod.example/images'] };
    const inv = {
      destinationTags: new Map([
        [
          'prod.example/images/app',
          new Map([
            ['v1', D1],
            ['latest', D1],
          ]),
        ],
      ]),
      destinationDigests: new Set([`prod.example/images/app@${D3}`]),
      signatureTags: new Map(),
      signedByPromoter: new Map(),
      newRepositories: new Set<string>(),
    };
    // D1 (v1, latest) and D3 (tagless) are in place; only D2 (v2) still needs its source.
    expect([...sourcesToCheck([single], inv).keys()]).toEqual([`staging.example/p/app@${D2}`]);
  });
});

describe('mergeTagRecord', () => {
  it('adds what was verified and says when nothing changed', () => {
    expect(mergeTagRecord(undefined, { tags: { v1: D1 } })).toEqual({ tags: { v1: D1 } });
    expect(mergeTagRecord({ tags: { v1: D1 } }, { tags: { v1: D1 } })).toBeUndefined();
    expect(mergeTagRecord({ tags: { v1: D1 } }, { tags: { v2: D2 } })).toEqual({ tags: { v1: D1, v2: D2 } });
    expect(mergeTagRecord({ tags: { v1: D1 } }, { signed: { [D1]: 'both:k' } })).toEqual({ tags: { v1: D1 }, signed: { [D1]: 'both:k' } });
    expect(mergeTagRecord({ tags: {}, signed: { [D1]: 'both:k' } }, { signed: { [D1]: 'both:k' } })).toBeUndefined();
  });

  it('remembers tagless digests as a sorted set, keeping the tags and signatures already recorded', () => {
    const old = { tags: { v1: D1 }, signed: { [D1]: 'both:k' } };
    expect(mergeTagRecord(old, { digests: [D3, D2] })).toEqual({ tags: { v1: D1 }, digests: [D2, D3], signed: { [D1]: 'both:k' } });
    expect(mergeTagRecord({ tags: {}, digests: [D2, D3] }, { digests: [D3] })).toBeUndefined();
    expect(mergeTagRecord({ tags: {}, digests: [D3] }, { digests: [D2], tags: { v1: D1 } })).toEqual({ tags: { v1: D1 }, digests: [D2, D3] });
  });

  it('adds the attestations written there to those recorded, as a sorted set per digest', () => {
    const old = { tags: { v1: D1 }, attested: { [D1]: ['b'] } };
    expect(mergeTagRecord(old, { attested: { [D1]: ['c', 'a'], [D2]: ['x'] } })).toEqual({
      tags: { v1: D1 },
      attested: { [D1]: ['a', 'b', 'c'], [D2]: ['x'] },
    });
    expect(mergeTagRecord(old, { attested: { [D1]: ['b'] } })).toBeUndefined();
  });
});

describe('recordedDigests', () => {
  it('trusts the recorded tagless digests only while the repository still lists tags', () => {
    const record = { tags: {}, digests: [D2, D3] };
    expect([...recordedDigests(record, 3)]).toEqual([D2, D3]);
    expect(recordedDigests(record, 0).size).toBe(0); // emptied or deleted since: HEAD again
    expect(recordedDigests(undefined, 3).size).toBe(0);
    expect(recordedDigests({ tags: { v1: D1 } }, 3).size).toBe(0);
  });
});

describe('repoFor: registry names and image names', () => {
  it('splits the host from the repository prefix', () => {
    expect(repoFor('127.0.0.1:5001/staging', 'foo')).toEqual({ host: '127.0.0.1:5001', repository: 'staging/foo' });
    expect(repoFor('gcr.io/k8s-staging-bom', 'bom')).toEqual({ host: 'gcr.io', repository: 'k8s-staging-bom/bom' });
    expect(repoFor('us-central1-docker.pkg.dev/k8s-artifacts-prod/images/etcd', 'a/b')).toEqual({
      host: 'us-central1-docker.pkg.dev',
      repository: 'k8s-artifacts-prod/images/etcd/a/b',
    });
    expect(repoFor('localhost:5000', 'foo')).toEqual({ host: 'localhost:5000', repository: 'foo' });
    expect(repoFor('[::1]:5002/prod/x', 'y')).toEqual({ host: '[::1]:5002', repository: 'prod/x/y' });
  });
});
