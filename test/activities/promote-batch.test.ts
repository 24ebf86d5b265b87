// The Promote batch activity on the in-memory registry (test/support/fake-registry.ts), in
// Temporal's mock activity environment, so it needs no dev stack. A worker that dies half-way
// through a batch leaves a checkpoint in its last heartbeat, and the retry copies only what is not
// settled, looking before it writes (no "new repository" shortcut on a retry); a failing copy or a
// moved tag fails its own edges only; a batch that finished is never done or written again.
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { loadConfig } from '../../lib/config';
import type { PromoteBatchDocument } from '../../lib/run/documents';
import type { PromoteBatchArgs } from '../../lib/run/input';
import type { PromoteBatchSummary } from '../../lib/run/outcomes';
import { computePlan, repoFor, type Inventory, type PlanInputProject } from '../../lib/run/plan';
import { FakeRegistry } from '../support/fake-registry';
import { MemoryStore } from '../support/memory-store';

const APPS = ['app1', 'app2', 'app3', 'app4'];
const destination = (app: string) => repoFor('prod.example/p', app);

/** Four staging images, each to be promoted under one tag into a repository the plan found empty. */
function arrange() {
  const registry = new FakeRegistry();
  const digests = Object.fromEntries(APPS.map((app) => [app, registry.putImage(repoFor('staging.example/s', app), app)]));
  const project: PlanInputProject = {
    name: 'demo',
    source: 'staging.example/s',
    destinations: ['prod.example/p'],
    images: APPS.map((app, i) => ({ name: app, dmap: { [digests[app]!]: [`v${i + 1}`] } })),
  };
  const nothingThere: Inventory = {
    sourceDigests: { has: () => true },
    destinationTags: new Map(),
    destinationDigests: new Set(),
    signatureTags: new Map(),
    signedByPromoter: new Map(),
    newRepositories: new Set(APPS.map((app) => `prod.example/p/${app}`)),
  };
  const plan = computePlan([project], nothingThere, { workflowId: 'wf', runId: 'run', bundleSha256: 'x', createdAt: '2026-01-01T00:00:00Z' });
  return { registry, digests, plan };
}

/** A worker: its own activities (and document cache) over the shared store and registry. */
async function worker(store: MemoryStore, registry: FakeRegistry, plan: unknown) {
  const stored = await store.writeOnceJson('runs/wf/run/plan.json', plan);
  const activities = createActivities({ config: loadConfig({}), store, registry, log: pino({ level: 'silent' }) });
  const args: PromoteBatchArgs = {
    input: { bundleKey: 'inputs/x.json', bundleSha256: 'x', confirm: true, options: { batchSize: 10, parallelBatches: 1, batchesPerWorkflow: 250 }, origin: 'test' },
    plan: { key: stored.key, sha256: stored.sha256 },
    batch: 0,
    verificationKeys: [],
  };
  return { activities, args };
}

const info = (attempt: number, heartbeatDetails?: unknown) => ({ attempt, heartbeatDetails, workflowExecution: { workflowId: 'wf', runId: 'run' } });
const resultOf = (store: MemoryStore, summary: PromoteBatchSummary) => JSON.parse(store.docs.get(summary.resultKey)!) as PromoteBatchDocument;

describe('promoteBatch resumes from its heartbeat', () => {
  it('a first attempt copies every task and skips existence checks in repositories the plan found empty', async () => {
    const { registry, digests, plan } = arrange();
    const store = new MemoryStore();
    const { activities, args } = await worker(store, registry, plan);
    const summary = (await new MockActivityEnvironment(info(1)).run(activities.promoteBatch, args)) as PromoteBatchSummary;
    expect(summary).toMatchObject({ batch: 0, promotedEdges: 4, failedEdges: 0 });
    expect(registry.copies.map((c) => c.task.image).sort()).toEqual(APPS);
    expect(registry.copies.every((c) => c.assumeAbsent)).toBe(true);
    APPS.forEach((app, i) => expect(registry.tagsOf(destination(app))).toEqual({ [`v${i + 1}`]: digests[app] }));
    expect(resultOf(store, summary).placed.map((p) => p.image).sort()).toEqual(APPS);
  });

  it('after a crash mid-batch, the retry copies only the tasks its checkpoint does not hold, looking before it writes', async () => {
    const { registry, digests, plan } = arrange();
    const store = new MemoryStore();
    // Attempt 1: two copies finish, two never return: the worker dies there, its last heartbeat stays.
    registry.inject({ op: 'copy', where: 'prod.example/p/app3', fault: 'hang' });
    registry.inject({ op: 'copy', where: 'prod.example/p/app4', fault: 'hang' });
    const one = await worker(store, registry, plan);
    const env1 = new MockActivityEnvironment(info(1));
    let checkpoint: unknown;
    env1.on('heartbeat', (d: unknown) => (checkpoint = d));
    void env1.run(one.activities.promoteBatch, one.args);
    await expect.poll(() => (checkpoint as { records?: unknown[] } | undefined)?.records?.length ?? 0).toBe(2);
    expect(registry.copies).toHaveLength(4);
    expect(Object.keys(registry.tagsOf(destination('app3')))).toEqual([]);

    // Attempt 2 on another worker, against the same registry, from attempt 1's last heartbeat.
    const two = await worker(store, registry, plan);
    const summary = (await new MockActivityEnvironment(info(2, checkpoint)).run(two.activities.promoteBatch, two.args)) as PromoteBatchSummary;
    const retried = registry.copies.slice(4);
    expect(retried.map((c) => c.task.image).sort()).toEqual(['app3', 'app4']);
    expect(retried.every((c) => !c.assumeAbsent)).toBe(true);
    // The result covers the whole batch: the two settled before the crash and the two copied now.
    expect(summary).toMatchObject({ promotedEdges: 4, failedEdges: 0 });
    expect(resultOf(store, summary).placed.map((p) => p.image).sort()).toEqual(APPS);
    APPS.forEach((app, i) => expect(registry.tagsOf(destination(app))).toEqual({ [`v${i + 1}`]: digests[app] }));
  });
});

describe('one failing task fails its own edges only', () => {
  it('a copy refused with 429 and a tag somebody moved are failures of those edges; the other two are promoted', async () => {
    const { registry, digests, plan } = arrange();
    registry.inject({ op: 'copy', where: 'prod.example/p/app2', fault: 'throttle' });
    const elsewhere = registry.putImage(repoFor('staging.example/s', 'other'), 'other');
    registry.moveTag(destination('app3'), 'v3', elsewhere);
    const store = new MemoryStore();
    const { activities, args } = await worker(store, registry, plan);
    const summary = (await new MockActivityEnvironment(info(1)).run(activities.promoteBatch, args)) as PromoteBatchSummary;
    expect(summary).toMatchObject({ promotedEdges: 2, failedEdges: 2, tagMoves: 1, failureCount: 2 });
    const doc = resultOf(store, summary);
    expect(doc.failures.map((f) => [f.edge, f.code]).sort()).toEqual([
      [`prod.example/p/app2:v2@${digests.app2}`, 'TOOMANYREQUESTS'],
      [`prod.example/p/app3:v3@${digests.app3}`, 'TAG_MOVE'],
    ]);
    expect(registry.tagsOf(destination('app3'))).toEqual({ v3: elsewhere }); // never moved
    expect(registry.tagsOf(destination('app2'))).toEqual({});
    // app3's image is in place by digest (only its tag was refused); app2 never got there.
    expect(doc.placed.map((p) => p.image).sort()).toEqual(['app1', 'app3', 'app4']);
    expect(doc.placed.find((p) => p.image === 'app3')!.tags).toEqual([]);
  });
});

describe('a retried batch never rewrites its result', () => {
  it('an attempt after a finished one returns the stored result, copies nothing and leaves the document as it was', async () => {
    const { registry, plan } = arrange();
    const store = new MemoryStore();
    const { activities, args } = await worker(store, registry, plan);
    const summary = (await new MockActivityEnvironment(info(1)).run(activities.promoteBatch, args)) as PromoteBatchSummary;
    const stored = store.docs.get(summary.resultKey);

    // The worker died after writing its result but before Temporal heard: attempt 2 starts afresh,
    // on a registry that would now fail every copy. It must not redo (or rewrite) anything.
    registry.inject({ op: 'copy', fault: new Error('registry down'), times: Infinity });
    const again = await worker(store, registry, plan);
    const retried = (await new MockActivityEnvironment(info(2)).run(again.activities.promoteBatch, again.args)) as PromoteBatchSummary;
    expect(retried).toEqual(summary);
    expect(registry.copies).toHaveLength(4);
    expect(store.docs.get(summary.resultKey)).toBe(stored);
    await expect(store.writeOnceJson(summary.resultKey, { ...JSON.parse(stored!), summary: { ...summary, promotedEdges: 0 } })).rejects.toThrow(/write-once/);
    expect(store.docs.get(summary.resultKey)).toBe(stored);
  });
});
