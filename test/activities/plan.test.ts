// Plan on the fake registry: the verdict of every edge from what the registries answer, the plan
// and tag records it writes, what it asks (one tags/list per destination repository, a HEAD only
// where nothing it recorded vouches for a tag), and a Plan cut off mid-inventory that resumes from
// its chunks and asks only about the rest.
import { describe, expect, it } from 'vitest';
import type { PortOperation } from '../support/fake-registry';
import { planEdges } from '../../lib/run/plan';
import type { Plan } from '../../lib/run/plan-format';
import { planInventoryChunkKey, planKey, tagRecordKey } from '../../lib/run/storage-keys';
import type { TagRecord } from '../../lib/run/tag-record';
import { everywhere, mirrorA, mirrorB, prod, project, staging, World } from '../support/activity-world';

const LOST = `sha256:${'0'.repeat(64)}`;

/** The calls of `op` the fake saw since `from`, by the repository they were about. */
const asked = (world: World, op: PortOperation, from = 0) =>
  world.registry.requests
    .slice(from)
    .filter((r) => r.op === op)
    .map((r) => r.where)
    .sort();
const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

/** Five kinds of edge: to promote, in place already, a moved tag, lost at the source, tagless. */
async function arrange(world: World) {
  const r = world.registry;
  const d = {
    fresh: r.putImage(staging('fresh'), 'fresh'),
    present: r.putImage(staging('present'), 'present'),
    moved: r.putImage(staging('moved'), 'moved'),
    tagless: r.putImage(staging('tagless'), 'tagless', { platforms: 2 }),
    elsewhere: r.putImage(staging('other'), 'other'),
  };
  // Somebody promoted `present` before (no tag record of ours), and put another image under moved:v1 in production.
  for (const dest of everywhere('present'))
    await r.copy({
      project: 'x',
      image: 'present',
      destinationIndex: 0,
      source: staging('present'),
      destination: dest,
      digest: d.present,
      tags: ['v1'],
      edges: 1,
    });
  await r.copy({
    project: 'x',
    image: 'other',
    destinationIndex: 0,
    source: staging('other'),
    destination: prod('moved'),
    digest: d.elsewhere,
    tags: ['v1'],
    edges: 1,
  });
  const images = [
    { name: 'fresh', dmap: { [d.fresh]: ['v1', 'latest'] } },
    { name: 'present', dmap: { [d.present]: ['v1'] } },
    { name: 'moved', dmap: { [d.moved]: ['v1'] } },
    { name: 'lost', dmap: { [LOST]: ['v1'] } },
    { name: 'tagless', dmap: { [d.tagless]: [] } },
  ];
  return { d, input: world.input([project({ images })]) };
}

describe('plan: verdicts and what it asks', () => {
  it('gives every edge its verdict from tags/list and HEADs, and writes the plan and the tags it verified', async () => {
    const world = new World();
    const { d, input } = await arrange(world);
    const from = world.registry.requests.length;
    const run = world.run(input);
    const summary = await run.exec(run.worker.plan, [input]);

    const plan = world.doc<Plan>(planKey(run.ids.workflowId, run.ids.runId));
    expect(summary.plan.key).toBe(planKey(run.ids.workflowId, run.ids.runId));
    expect(plan.counts).toEqual({ total: 18, promote: 11, present: 3, tagMoves: 1, lost: 3, overlaps: 0 });
    expect(summary).toMatchObject({ counts: plan.counts, copyTasks: 8, sourceDigests: 5 });
    const verdicts = new Map<string, string>();
    for (const e of planEdges(plan))
      verdicts.set(`${e.image}:${e.tag ?? '-'}@${e.destinationIndex}`, e.verdict + (e.currentDigest ? ` ${e.currentDigest}` : ''));
    expect(Object.fromEntries(verdicts)).toEqual({
      'fresh:v1@0': 'promote',
      'fresh:latest@0': 'promote',
      'fresh:v1@1': 'promote',
      'fresh:latest@1': 'promote',
      'fresh:v1@2': 'promote',
      'fresh:latest@2': 'promote',
      'present:v1@0': 'present',
      'present:v1@1': 'present',
      'present:v1@2': 'present',
      'moved:v1@0': `tag-move ${d.elsewhere}`,
      'moved:v1@1': 'promote',
      'moved:v1@2': 'promote',
      'lost:v1@0': 'lost',
      'lost:v1@1': 'lost',
      'lost:v1@2': 'lost',
      'tagless:-@0': 'promote',
      'tagless:-@1': 'promote',
      'tagless:-@2': 'promote',
    });

    // One tags/list per destination repository; a HEAD per listed tag it has no record of, per
    // tagless digest, and per source digest with an edge still to promote (not `present`).
    const repos = ['fresh', 'present', 'moved', 'lost', 'tagless'].flatMap(everywhere).map(key).sort();
    expect(asked(world, 'listTags', from)).toEqual(repos);
    expect(asked(world, 'manifestDigest', from)).toEqual(
      [
        ...everywhere('present').map(key),
        key(prod('moved')),
        ...everywhere('tagless').map(key),
        ...['fresh', 'moved', 'lost', 'tagless'].map((i) => key(staging(i))),
      ].sort(),
    );
    expect(world.registry.requests.slice(from).every((r) => r.op === 'listTags' || r.op === 'manifestDigest')).toBe(true);

    // What it HEADed is recorded, a moved tag at the digest it found; repositories listing nothing get no record.
    for (const dest of everywhere('present')) expect(world.doc<TagRecord>(tagRecordKey(dest.host, dest.repository))).toEqual({ tags: { v1: d.present } });
    expect(world.doc<TagRecord>(tagRecordKey(prod('moved').host, prod('moved').repository))).toEqual({ tags: { v1: d.elsewhere } });
    expect(world.store.docs.has(tagRecordKey(mirrorA('moved').host, mirrorA('moved').repository))).toBe(false);
    expect(plan.newRepositories).toEqual([...['fresh', 'lost', 'tagless'].flatMap(everywhere), mirrorA('moved'), mirrorB('moved')].map(key).sort());
  });

  it('a rerun after the promotion and its signing asks one tags/list per repository and nothing else; --verify-tags HEADs every tag and tagless digest', async () => {
    const world = new World();
    const fresh = world.registry.putImage(staging('fresh'), 'fresh');
    const tagless = world.registry.putImage(staging('tagless'), 'tagless');
    const images = [
      { name: 'fresh', dmap: { [fresh]: ['v1', 'latest'] } },
      { name: 'tagless', dmap: { [tagless]: [] } },
    ];
    const input = world.input([project({ images })]);
    // Signed too: a repository holding only a tagless digest lists its signature tags, and a
    // repository listing nothing at all is one whose record is not trusted (emptied since).
    await world.run(input).through('attest');

    const rerun = world.run(input);
    const from = world.registry.requests.length;
    const again = await rerun.exec(rerun.worker.plan, [input]);
    expect(again.counts).toEqual({ total: 9, promote: 0, present: 9, tagMoves: 0, lost: 0, overlaps: 0 });
    expect(again.copyTasks).toBe(0);
    expect(world.registry.requests.slice(from).map((r) => r.op)).toEqual(Array(6).fill('listTags'));

    const verifying = world.input([project({ images })], { options: { verifyTags: true } });
    const check = world.run(verifying);
    const before = world.registry.requests.length;
    expect((await check.exec(check.worker.plan, [verifying])).counts.present).toBe(9);
    expect(asked(world, 'manifestDigest', before)).toEqual([...everywhere('fresh'), ...everywhere('fresh'), ...everywhere('tagless')].map(key).sort());
  });

  it('a Plan retried after it finished returns the plan it wrote, asking nothing', async () => {
    const world = new World();
    const { input } = await arrange(world);
    const run = world.run(input);
    const first = await run.exec(run.worker.plan, [input]);
    const stored = world.store.docs.get(first.plan.key);
    const from = world.registry.requests.length;
    const again = await run.exec(world.worker().plan, [input], { attempt: 2 });
    expect(again).toEqual(first);
    expect(world.registry.requests.length).toBe(from);
    expect(world.store.docs.get(first.plan.key)).toBe(stored);
  });
});

describe('plan: resumed from its inventory checkpoint', () => {
  it('a Plan cut off after some inventory chunks asks the registries only about the repositories those chunks do not hold', async () => {
    const world = new World();
    const r = world.registry;
    // 230 images to 3 destinations: 690 repositories, more than one chunk (500) of answers.
    const images: { name: string; dmap: Record<string, string[]> }[] = [];
    const present = new Set<string>();
    for (let i = 0; i < 230; i++) {
      const name = `app${String(i).padStart(3, '0')}`;
      const digest = r.putImage(staging(name), name);
      images.push({ name, dmap: { [digest]: ['v1'] } });
      if (i % 3 !== 0) continue;
      present.add(name);
      for (const dest of everywhere(name))
        await r.copy({ project: 'x', image: name, destinationIndex: 0, source: staging(name), destination: dest, digest, tags: ['v1'], edges: 1 });
    }
    const input = world.input([project({ images })]);
    const run = world.run(input);
    const allRepos = images.flatMap((i) => everywhere(i.name)).map(key);
    // The last repository read fails (a registry that went away): the attempt fails with what it read so far.
    r.inject({ op: 'listTags', where: key(mirrorB('app229')), fault: new Error('mirror-b.example: connection reset') });
    const one = run.start(run.worker.plan, [input]);
    await expect(one.done).rejects.toThrow('connection reset');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the attempt's other reads settle
    const checkpoint = one.checkpoint as { chunks: number };
    expect(checkpoint.chunks).toBeGreaterThanOrEqual(1);

    const chunked = new Set<string>();
    for (let n = 0; world.store.docs.has(planInventoryChunkKey(run.ids.workflowId, run.ids.runId, n)); n++) {
      const chunk = world.doc<{ destinations?: { key: string }[] }>(planInventoryChunkKey(run.ids.workflowId, run.ids.runId, n));
      for (const a of chunk.destinations ?? []) chunked.add(a.key);
    }
    expect(chunked.size).toBeGreaterThanOrEqual(500);
    expect(chunked.size).toBeLessThan(allRepos.length);
    expect(world.store.docs.has(planKey(run.ids.workflowId, run.ids.runId))).toBe(false);

    // Attempt 2, on another worker, with attempt 1's last heartbeat.
    const from = r.requests.length;
    const summary = await run.exec(world.worker().plan, [input], { attempt: 2, heartbeat: checkpoint });
    const rest = allRepos.filter((k) => !chunked.has(k)).sort();
    expect(asked(world, 'listTags', from)).toEqual(rest);
    // Tags HEADed again only in repositories the chunks did not hold.
    expect(
      asked(world, 'manifestDigest', from)
        .filter((w) => !w.startsWith('staging.example/'))
        .every((w) => !chunked.has(w)),
    ).toBe(true);
    // The verdicts are those of an uninterrupted Plan: the chunks' answers count as if read now.
    expect(summary.counts).toEqual({ total: 690, promote: (230 - present.size) * 3, present: present.size * 3, tagMoves: 0, lost: 0, overlaps: 0 });
    const plan = world.doc<Plan>(summary.plan.key);
    for (const e of planEdges(plan)) expect(e.verdict, `${e.image}@${e.destinationIndex}`).toBe(present.has(e.image) ? 'present' : 'promote');
  });
});
