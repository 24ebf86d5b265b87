// Promote batches on the fake registry: every path a copy task takes (copied fresh, found in
// place, a tag somebody moved, lost at the source, a failing task among good ones, 429s), a batch
// resumed from its heartbeat, a retry after a worker that wrote and died before saying so, and a
// retry after the batch finished. Each asserts what ended up at the destinations and in the
// batch's result document, which Sign, Attest and the report read.
import { describe, expect, it } from 'vitest';
import { OCI_CONFIG, OCI_MANIFEST, sha256Digest, type RepositoryRef } from '../../lib/oci';
import type { PromoteBatchDocument } from '../../lib/run/documents';
import type { PromoteBatchSummary } from '../../lib/run/outcomes';
import { tagRecordKey } from '../../lib/run/storage-keys';
import type { TagRecord } from '../../lib/run/tag-record';
import { emptySummary, mergeSummaries } from '../../workflows/promote-batches';
import {
  attestationTag,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  referrersFallbackTag,
  DSSE_ENVELOPE_MEDIA_TYPE,
  SIGSTORE_BUNDLE_V03,
} from '../../lib/signing';
import { everywhere, mirrorA, mirrorB, prod, project, staging, World, type Run } from '../support/activity-world';

const APPS = ['app1', 'app2', 'app3', 'app4'];
const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

/**
 * Four staging images, one tag each, to production only (one copy task per image). `occupied`: every
 * destination repository holds another image at plan time, so copies look before they write (in a
 * repository the plan found empty, a first attempt writes without looking).
 */
async function arrange(opts: { images?: string[]; destinations?: string[]; occupied?: boolean } = {}) {
  const world = new World();
  const names = opts.images ?? APPS;
  const d = Object.fromEntries(names.map((app) => [app, world.registry.putImage(staging(app), app)]));
  if (opts.occupied) {
    const old = world.registry.putImage(staging('old'), 'old');
    for (const app of names)
      await world.registry.copy({
        project: 'x',
        image: 'old',
        destinationIndex: 0,
        source: staging('old'),
        destination: prod(app),
        digest: old,
        tags: ['v0'],
        edges: 1,
      });
  }
  const images = names.map((app, i) => ({ name: app, dmap: { [d[app]!]: [`v${i + 1}`] } }));
  const run = await world.run(world.input([project({ images, destinations: opts.destinations ?? ['prod.example/p'] })])).through('validate');
  return { world, d, run };
}

const doc = (run: Run, s: PromoteBatchSummary) => run.world.doc<PromoteBatchDocument>(s.resultKey);
const placedImages = (d: PromoteBatchDocument) => d.placed.map((p) => p.image).sort();

describe('promote: the paths of a copy task', () => {
  it('a first attempt copies every task, trusting the plan that the new repositories are empty, tags last, and records what it placed', async () => {
    const world = new World();
    const digest = world.registry.putImage(staging('multi'), 'multi', { platforms: 2 });
    const tagless = world.registry.putImage(staging('bare'), 'bare');
    const input = world.input([
      project({
        images: [
          { name: 'multi', dmap: { [digest]: ['v1', 'latest'] } },
          { name: 'bare', dmap: { [tagless]: [] } },
        ],
      }),
    ]);
    const run = await world.run(input).through('validate');
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);

    expect(summary).toMatchObject({ batch: 0, promotedEdges: 9, failedEdges: 0, tagMoves: 0, failureCount: 0 });
    // An index with two children and its four blobs per destination, a plain image's two: nothing skipped, all written.
    expect(summary.transfer).toMatchObject({ manifestsWritten: 3 * 3 + 3, blobsUploaded: 4 * 3 + 2 * 3, blobsSkipped: 0 });
    expect(world.registry.copies.every((c) => c.assumeAbsent)).toBe(true);
    for (const dest of everywhere('multi')) {
      expect(world.registry.tagsOf(dest)).toEqual({ v1: digest, latest: digest });
      expect(world.doc<TagRecord>(tagRecordKey(dest.host, dest.repository))).toEqual({ tags: { v1: digest, latest: digest } });
    }
    for (const dest of everywhere('bare')) {
      expect(world.registry.has(dest, tagless)).toBe(true);
      expect(world.registry.tagsOf(dest)).toEqual({});
      // tags/list never shows a tagless digest: the record remembers it was placed.
      expect(world.doc<TagRecord>(tagRecordKey(dest.host, dest.repository))).toEqual({ tags: {}, digests: [tagless] });
    }
    const result = doc(run, summary);
    expect(result.placed).toHaveLength(6);
    expect(result.placed.every((p) => p.promotedNow)).toBe(true);
    expect(
      result.placed
        .filter((p) => p.image === 'multi')
        .map((p) => [p.destinationIndex, p.tags])
        .sort(),
    ).toEqual([
      [0, ['v1', 'latest']],
      [1, ['v1', 'latest']],
      [2, ['v1', 'latest']],
    ]);
  });

  it('edges the plan found in place get no copy task', async () => {
    const world = new World();
    const d = Object.fromEntries(['app1', 'app2'].map((a) => [a, world.registry.putImage(staging(a), a)]));
    await world.registry.copy({
      project: 'x',
      image: 'app2',
      destinationIndex: 0,
      source: staging('app2'),
      destination: prod('app2'),
      digest: d.app2!,
      tags: ['v2'],
      edges: 1,
    });
    const copiesBefore = world.registry.copies.length;
    const images = [
      { name: 'app1', dmap: { [d.app1!]: ['v1'] } },
      { name: 'app2', dmap: { [d.app2!]: ['v2'] } },
    ];
    const run = await world.run(world.input([project({ images, destinations: ['prod.example/p'] })])).through('validate');
    expect(run.plan!.counts).toMatchObject({ present: 1, promote: 1 });
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);
    expect(world.registry.copies.slice(copiesBefore).map((c) => c.task.image)).toEqual(['app1']);
    expect(summary).toMatchObject({ promotedEdges: 1, failedEdges: 0 });
    expect(placedImages(doc(run, summary))).toEqual(['app1']);
  });

  it('a copy that finds its image put in place after the plan uploads nothing and counts its edges promoted', async () => {
    const { world, d, run } = await arrange({ images: ['app1', 'app2'], occupied: true });
    // After the plan, somebody (another promoter, an earlier run's retry) put app2 and its tag there.
    await world.registry.copy({
      project: 'x',
      image: 'app2',
      destinationIndex: 0,
      source: staging('app2'),
      destination: prod('app2'),
      digest: d.app2!,
      tags: ['v2'],
      edges: 1,
    });
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);
    expect(summary).toMatchObject({ promotedEdges: 2, failedEdges: 0 });
    // app1's two blobs and manifest, nothing of app2's.
    expect(summary.transfer).toMatchObject({ blobsUploaded: 2, manifestsWritten: 1 });
    expect(doc(run, summary).placed.map((p) => [p.image, p.promotedNow])).toEqual([
      ['app1', true],
      ['app2', true],
    ]);
    expect(world.registry.tagsOf(prod('app2'))).toMatchObject({ v2: d.app2 });
  });

  it('a tag somebody moved after the plan is a TAG_MOVE of that edge: never moved back, the image still placed by digest', async () => {
    const { world, d, run } = await arrange({ occupied: true });
    const elsewhere = world.registry.putImage(staging('other'), 'other');
    await world.registry.copy({
      project: 'x',
      image: 'other',
      destinationIndex: 0,
      source: staging('other'),
      destination: prod('app3'),
      digest: elsewhere,
      tags: ['v3'],
      edges: 1,
    });
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);
    expect(summary).toMatchObject({ promotedEdges: 3, failedEdges: 1, tagMoves: 1, failureCount: 1 });
    const result = doc(run, summary);
    expect(result.failures).toEqual([
      { edge: `prod.example/p/app3:v3@${d.app3}`, phase: 'promote', code: 'TAG_MOVE', error: `tag v3 points at ${elsewhere}; the promoter never moves a tag` },
    ]);
    expect(world.registry.tagsOf(prod('app3'))).toMatchObject({ v3: elsewhere });
    expect(world.registry.has(prod('app3'), d.app3!)).toBe(true);
    expect(result.placed.find((p) => p.image === 'app3')!.tags).toEqual([]);
  });

  it('LOST: a digest staging never had gets no copy task; one staging lost after the plan fails its own edges as MANIFEST_UNKNOWN', async () => {
    const world = new World();
    const d = Object.fromEntries(['app1', 'app2'].map((a) => [a, world.registry.putImage(staging(a), a)]));
    const never = `sha256:${'0'.repeat(64)}`;
    const images = [
      { name: 'app1', dmap: { [d.app1!]: ['v1'] } },
      { name: 'app2', dmap: { [d.app2!]: ['v2'] } },
      { name: 'gone', dmap: { [never]: ['v1'] } },
    ];
    const run = await world.run(world.input([project({ images, destinations: ['prod.example/p'] })])).through('validate');
    expect(run.plan!.counts).toMatchObject({ lost: 1, promote: 2 });
    world.registry.deleteManifest(staging('app2'), d.app2!);
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);
    expect(world.registry.copies.map((c) => c.task.image).sort()).toEqual(['app1', 'app2']);
    expect(summary).toMatchObject({ promotedEdges: 1, failedEdges: 1, lost: 0 });
    expect(doc(run, summary).failures).toEqual([expect.objectContaining({ edge: `prod.example/p/app2:v2@${d.app2}`, code: 'MANIFEST_UNKNOWN' })]);
    expect(world.registry.tagsOf(prod('app2'))).toEqual({});
    expect(placedImages(doc(run, summary))).toEqual(['app1']);
  });

  it('a failing task among good ones fails its own edges only, under the error code the registry gave (or ERROR)', async () => {
    const { world, d, run } = await arrange();
    world.registry.inject({ op: 'copy', where: 'prod.example/p/app2', fault: new Error('socket hang up') });
    world.registry.inject({ op: 'copy', where: 'prod.example/p/app4', fault: Object.assign(new Error('prod.example: denied'), { code: 'DENIED' }) });
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);
    expect(summary).toMatchObject({ promotedEdges: 2, failedEdges: 2, failureCount: 2 });
    expect(doc(run, summary).failures.map((f) => [f.edge, f.code, f.error])).toEqual([
      [`prod.example/p/app2:v2@${d.app2}`, 'ERROR', 'socket hang up'],
      [`prod.example/p/app4:v4@${d.app4}`, 'DENIED', 'prod.example: denied'],
    ]);
    expect(placedImages(doc(run, summary))).toEqual(['app1', 'app3']);
    expect(world.registry.tagsOf(prod('app1'))).toEqual({ v1: d.app1 });
  });

  it("429: a copy throttled past the client's own retries fails that edge only; the next run copies that one and nothing else", async () => {
    const { world, d, run } = await arrange({ images: ['app1', 'app2'], destinations: ['prod.example/p', 'mirror-b.example/p'] });
    world.registry.inject({ op: 'copy', where: 'mirror-b.example', fault: 'throttle' });
    await run.through('promote');
    expect(run.promote).toMatchObject({ promotedEdges: 3, failedEdges: 1 });
    const failed = world.docs<PromoteBatchDocument>('runs/').get(run.promote!.resultKeys[0]!)!.failures;
    expect(failed).toEqual([expect.objectContaining({ code: 'TOOMANYREQUESTS', edge: `mirror-b.example/p/app1:v1@${d.app1}` })]);

    const copiesBefore = world.registry.copies.length;
    const next = await world.run(run.input).through('promote');
    expect(next.plan!.counts).toMatchObject({ present: 3, promote: 1 });
    expect(world.registry.copies.slice(copiesBefore).map((c) => key(c.task.destination))).toEqual([key(mirrorB('app1'))]);
    expect(next.promote).toMatchObject({ promotedEdges: 1, failedEdges: 0 });
    expect(world.registry.tagsOf(mirrorB('app1'))).toEqual({ v1: d.app1 });
  });
});

describe('promote: after waiting for a lane', () => {
  it('a run planned before another one promoted to the same new repository looks at every tag: one at another digest is a TAG_MOVE, one at its own digest already present', async () => {
    const world = new World();
    const [mine, theirs] = ['mine', 'theirs'].map((seed) => world.registry.putImage(staging('app'), seed));
    const base = world.registry.putImage(staging('base'), 'base');
    const bundle = (name: string, app: string) =>
      world.input([
        project({
          name,
          destinations: ['prod.example/p'],
          images: [
            { name: 'app', dmap: { [app]: ['v1'] } },
            { name: 'base', dmap: { [base]: ['stable'] } },
          ],
        }),
      ]);
    // Both plans see prod.example/p/app and base empty.
    const first = await world.run(bundle('first', theirs!)).through('validate');
    const second = await world.run(bundle('second', mine!)).through('validate');
    expect(second.plan!.counts).toMatchObject({ promote: 2, present: 0 });

    // The first holds the lanes and promotes; the second gets them afterwards, told so by its grant.
    await first.through('promote');
    expect(first.promote).toMatchObject({ promotedEdges: 2, failedEdges: 0 });
    const copiesBefore = world.registry.copies.length;
    const b = await second.exec(second.worker.promoteBatch, [{ ...second.batchArgs(0), laneContended: true }]);
    expect(world.registry.copies.slice(copiesBefore).every((c) => !c.assumeAbsent)).toBe(true);
    // Never moved: v1 stays where the first run put it.
    expect(world.registry.tagsOf(prod('app'))).toEqual({ v1: theirs });
    expect(world.registry.tagsOf(prod('base'))).toEqual({ stable: base });
    expect(b).toMatchObject({ promotedEdges: 0, alreadyPresent: 1, tagMoves: 1, failedEdges: 1 });
    expect(doc(second, b).failures).toEqual([expect.objectContaining({ edge: `prod.example/p/app:v1@${mine}`, code: 'TAG_MOVE' })]);

    second.promote = mergeSummaries(emptySummary(), { ...b, batches: 1, resultKeys: [b.resultKey] });
    await second.through('report');
    expect(second.report).toMatchObject({ status: 'failed', edges: { total: 2, promoted: 0, alreadyPresent: 1, tagMoves: 1, failed: 1 } });
  });
});

describe('promote: retries', () => {
  it('after a crash mid-batch, the retry copies only the tasks its checkpoint does not hold, looking before it writes', async () => {
    const { world, d, run } = await arrange();
    // Attempt 1: two copies finish, two never return: the worker dies there, its last heartbeat stays.
    world.registry.inject({ op: 'copy', where: 'prod.example/p/app3', fault: 'hang' });
    world.registry.inject({ op: 'copy', where: 'prod.example/p/app4', fault: 'hang' });
    const one = run.start(run.worker.promoteBatch, [run.batchArgs(0)]);
    await expect.poll(() => (one.checkpoint as { records?: unknown[] } | undefined)?.records?.length ?? 0).toBe(2);
    expect(world.registry.copies).toHaveLength(4);
    expect(world.registry.tagsOf(prod('app3'))).toEqual({});

    // Attempt 2 on another worker, against the same registry, from attempt 1's last heartbeat.
    const summary = await run.exec(world.worker().promoteBatch, [run.batchArgs(0)], { attempt: 2, heartbeat: one.checkpoint });
    const retried = world.registry.copies.slice(4);
    expect(retried.map((c) => c.task.image).sort()).toEqual(['app3', 'app4']);
    expect(retried.every((c) => !c.assumeAbsent)).toBe(true);
    // The result covers the whole batch: the two settled before the crash and the two copied now.
    expect(summary).toMatchObject({ promotedEdges: 4, failedEdges: 0 });
    expect(placedImages(doc(run, summary))).toEqual(APPS);
    APPS.forEach((app, i) => expect(world.registry.tagsOf(prod(app))).toEqual({ [`v${i + 1}`]: d[app] }));
  });

  it('a worker that wrote a copy and died before its heartbeat said so: the retry finds it in place, uploads nothing and counts it promoted by this run', async () => {
    const { world, d, run } = await arrange();
    world.registry.inject({ op: 'copy', where: 'prod.example/p/app2', fault: 'hang-after' });
    const one = run.start(run.worker.promoteBatch, [run.batchArgs(0)]);
    await expect.poll(() => (one.checkpoint as { records?: unknown[] } | undefined)?.records?.length ?? 0).toBe(3);
    expect(world.registry.tagsOf(prod('app2'))).toEqual({ v2: d.app2 }); // the write happened

    const summary = await run.exec(world.worker().promoteBatch, [run.batchArgs(0)], { attempt: 2, heartbeat: one.checkpoint });
    expect(world.registry.copies.slice(4).map((c) => c.task.image)).toEqual(['app2']);
    expect(summary).toMatchObject({ promotedEdges: 4, failedEdges: 0 });
    // Transfer: what attempt 1 settled (three images, two blobs each) plus nothing for app2's second look.
    expect(summary.transfer).toMatchObject({ blobsUploaded: 6, manifestsWritten: 3 });
    const app2 = doc(run, summary).placed.find((p) => p.image === 'app2')!;
    expect(app2).toMatchObject({ tags: ['v2'], promotedNow: true });
    expect(world.registry.tagsOf(prod('app2'))).toEqual({ v2: d.app2 });
  });

  it('an attempt after a finished one returns the stored result, copies nothing and leaves the document as it was', async () => {
    const { world, run } = await arrange();
    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);
    const stored = world.store.docs.get(summary.resultKey);

    // The worker died after writing its result but before Temporal heard: attempt 2 starts afresh,
    // on a registry that would now fail every copy. It must not redo (or rewrite) anything.
    world.registry.inject({ op: 'copy', fault: new Error('registry down'), times: Infinity });
    const retried = await run.exec(world.worker().promoteBatch, [run.batchArgs(0)], { attempt: 2 });
    expect(retried).toEqual(summary);
    expect(world.registry.copies).toHaveLength(4);
    expect(world.store.docs.get(summary.resultKey)).toBe(stored);
    await expect(world.store.writeOnceJson(summary.resultKey, { ...JSON.parse(stored!), summary: { ...summary, promotedEdges: 0 } })).rejects.toThrow(
      /write-once/,
    );
  });
});

/** A cosign v2 `.att` of `subject` in `repo`: one DSSE envelope per layer, as `cosign attest` writes them. */
function putLegacyAttestation(world: World, repo: RepositoryRef, subject: string, envelopes: string[]): string {
  const blobs = envelopes.map((e) =>
    Buffer.from(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(e).toString('base64'), signatures: [] })),
  );
  const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: blobs.map((b) => sha256Digest(b)) } }));
  const d = (b: Buffer, mediaType: string) => ({ mediaType, digest: sha256Digest(b), size: b.length });
  return world.registry.putManifest(
    repo,
    { schemaVersion: 2, mediaType: OCI_MANIFEST, config: d(config, OCI_CONFIG), layers: blobs.map((b) => d(b, DSSE_ENVELOPE_MEDIA_TYPE)) },
    { tag: attestationTag(subject), blobs: [config, ...blobs] },
  );
}

const attestationLayers = (world: World, repo: RepositoryRef, subject: string): string[] => {
  const digest = world.registry.tagsOf(repo)[attestationTag(subject)];
  if (!digest) return [];
  return (JSON.parse(world.registry.manifest(repo, digest).toString('utf8')) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
};

describe('promote: what the build attached at the source', () => {
  it("carries the source's legacy .att to every destination, merged with an .att somebody else wrote there, never overwriting it", async () => {
    const world = new World();
    const digest = world.registry.putImage(staging('app'), 'app');
    const ours = putLegacyAttestation(world, staging('app'), digest, ['slsa provenance', 'spdx sbom']);
    const foreign = putLegacyAttestation(world, prod('app'), digest, ['somebody else']);
    const foreignLayers = attestationLayers(world, prod('app'), digest);
    const sourceLayers = attestationLayers(world, staging('app'), digest);
    const run = await world.run(world.input([project({ images: [{ name: 'app', dmap: { [digest]: ['v1'] } }] })])).through('validate');

    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);

    expect(summary).toMatchObject({ promotedEdges: 3, failedEdges: 0 });
    // Production held another writer's `.att`: its layer stays first, ours are appended.
    expect(attestationLayers(world, prod('app'), digest)).toEqual([...foreignLayers, ...sourceLayers]);
    expect(world.registry.tagsOf(prod('app'))[attestationTag(digest)]).not.toBe(foreign);
    for (const dest of [mirrorA('app'), mirrorB('app')]) {
      // Where nobody had attested it, the source's manifest itself, by digest and under the tag.
      expect(world.registry.tagsOf(dest)).toEqual({ v1: digest, [attestationTag(digest)]: ours });
    }
  });

  it('an index: the referrers and .att of each child go along, in the referrers API or the child’s own fallback index; signatures stay behind', async () => {
    const world = new World();
    const index = world.registry.putImage(staging('multi'), 'multi', { platforms: 2 });
    const [amd64, arm64] = world.registry.childrenOf(staging('multi'), index);
    const indexSbom = world.registry.attach(staging('multi'), index, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3","name":"index"}');
    const childSbom = world.registry.attach(staging('multi'), amd64!, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3","name":"amd64"}');
    const childProvenance = world.registry.attach(
      staging('multi'),
      arm64!,
      'application/vnd.in-toto+json',
      '{"predicateType":"https://slsa.dev/provenance/v1"}',
    );
    const childSignature = world.registry.attach(staging('multi'), arm64!, SIGSTORE_BUNDLE_V03, '{}', {
      [BUNDLE_PREDICATE_TYPE_ANNOTATION]: COSIGN_SIGN_PREDICATE_TYPE,
    });
    putLegacyAttestation(world, staging('multi'), arm64!, ['arm64 provenance']);
    const childLayers = attestationLayers(world, staging('multi'), arm64!);
    const run = await world.run(world.input([project({ images: [{ name: 'multi', dmap: { [index]: ['v1'] } }] })])).through('validate');

    const summary = await run.exec(run.worker.promoteBatch, [run.batchArgs(0)]);

    expect(summary).toMatchObject({ promotedEdges: 3, failedEdges: 0 });
    for (const dest of everywhere('multi')) {
      const listed = (subject: string) =>
        world.registry
          .referrersOf(dest, subject)
          .map((r) => r.digest)
          .sort();
      expect(listed(index)).toEqual([indexSbom]);
      expect(listed(amd64!)).toEqual([childSbom]);
      expect(listed(arm64!)).toEqual([childProvenance]);
      expect(world.registry.has(dest, childSignature)).toBe(false);
      expect(attestationLayers(world, dest, arm64!)).toEqual(childLayers);
      const tags = Object.keys(world.registry.tagsOf(dest));
      // Without the referrers API each child has its own `sha256-<child>` index; with it, none is written.
      const fallback = [index, amd64!, arm64!].map(referrersFallbackTag);
      if (dest.host === mirrorA('x').host) expect(tags.filter((t) => fallback.includes(t))).toEqual([]);
      else expect(fallback.every((t) => tags.includes(t))).toBe(true);
    }
  });
});
