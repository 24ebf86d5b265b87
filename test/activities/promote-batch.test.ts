// The Promote batch activity, resumed from its heartbeat: a worker that dies half-way through a
// batch leaves a checkpoint in its last heartbeat, and the retry copies only what is not settled,
// looking before it writes (no "new repository" shortcut on a retry). Runs in Temporal's mock
// activity environment against a fake registry, so it needs no dev stack.
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { CopyOutcome, RegistryPort } from '../../activities/shared/registry-port';
import { loadConfig } from '../../lib/config';
import type { PromoteBatchDocument } from '../../lib/run/documents';
import { computePlan, type CopyTask, type Inventory, type PlanInputProject } from '../../lib/run/plan';
import type { PromoteBatchArgs } from '../../lib/run/input';
import type { PromoteBatchSummary } from '../../lib/run/outcomes';
import { emptyTransfer } from '../../lib/run/counts';
import { MemoryStore } from '../support/memory-store';

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const project: PlanInputProject = {
  name: 'demo',
  source: 'staging.example/s',
  destinations: ['prod.example/p'],
  images: [1, 2, 3, 4].map((n) => ({ name: `app${n}`, dmap: { [digest(n)]: [`v${n}`] } })),
};
const nothingThere: Inventory = {
  sourceDigests: { has: () => true },
  destinationTags: new Map(),
  destinationDigests: new Set(),
  signatureTags: new Map(),
  signedByPromoter: new Map(),
  newRepositories: new Set(['prod.example/p/app1', 'prod.example/p/app2', 'prod.example/p/app3', 'prod.example/p/app4']),
};
const plan = computePlan([project], nothingThere, { workflowId: 'wf', runId: 'run', bundleSha256: 'x', createdAt: '2026-01-01T00:00:00Z' });

/** Copies succeed at once, except those `hang` names: they never return (the worker dies mid-copy). */
function fakeRegistry(hang: Set<string> = new Set()) {
  const copies: { image: string; assumeAbsent: boolean }[] = [];
  const registry = {
    async copy(task: CopyTask, opts: { assumeAbsent?: boolean } = {}): Promise<CopyOutcome> {
      copies.push({ image: task.image, assumeAbsent: !!opts.assumeAbsent });
      if (hang.has(task.image)) await new Promise<never>(() => {});
      return { transfer: { ...emptyTransfer(), manifestsWritten: 1 }, tags: task.tags.map((tag) => ({ tag, result: 'written' as const })) };
    },
    totalRequests: () => 0,
  } as unknown as RegistryPort;
  return { registry, copies };
}

async function setup(registry: RegistryPort) {
  const store = new MemoryStore();
  const stored = await store.writeOnceJson('runs/wf/run/plan.json', plan);
  const config = loadConfig({});
  const activities = createActivities({ config, store, registry, log: pino({ level: 'silent' }) });
  const args: PromoteBatchArgs = {
    input: { bundleKey: 'inputs/x.json', bundleSha256: 'x', confirm: true, options: { batchSize: 10, parallelBatches: 1, batchesPerWorkflow: 250 }, origin: 'test' },
    plan: { key: stored.key, sha256: stored.sha256 },
    batch: 0,
    verificationKeys: [],
  };
  return { store, activities, args };
}

const info = (attempt: number, heartbeatDetails?: unknown) => ({ attempt, heartbeatDetails, workflowExecution: { workflowId: 'wf', runId: 'run' } });

describe('promoteBatch resumes from its heartbeat', () => {
  it('a first attempt copies every task and skips existence checks in repositories the plan found empty', async () => {
    const fake = fakeRegistry();
    const { activities, args, store } = await setup(fake.registry);
    const summary = await new MockActivityEnvironment(info(1)).run(activities.promoteBatch, args) as PromoteBatchSummary;
    expect(summary).toMatchObject({ batch: 0, promotedEdges: 4, failedEdges: 0 });
    expect(fake.copies.map((c) => c.image).sort()).toEqual(['app1', 'app2', 'app3', 'app4']);
    expect(fake.copies.every((c) => c.assumeAbsent)).toBe(true);
    const doc = JSON.parse(store.docs.get(summary.resultKey)!) as PromoteBatchDocument;
    expect(doc.placed.map((p) => p.image).sort()).toEqual(['app1', 'app2', 'app3', 'app4']);
  });

  it('after a crash mid-batch, the retry copies only the tasks its checkpoint does not hold, looking before it writes', async () => {
    // Attempt 1: two copies finish, two never do: the worker dies there, its last heartbeat stays.
    const first = fakeRegistry(new Set(['app3', 'app4']));
    const one = await setup(first.registry);
    const env1 = new MockActivityEnvironment(info(1));
    let checkpoint: unknown;
    env1.on('heartbeat', (d: unknown) => (checkpoint = d));
    void env1.run(one.activities.promoteBatch, one.args);
    await expect.poll(() => (checkpoint as { records?: unknown[] } | undefined)?.records?.length ?? 0).toBe(2);
    expect(first.copies).toHaveLength(4);

    // Attempt 2 on another worker: the checkpoint from attempt 1's last heartbeat.
    const second = fakeRegistry();
    const two = await setup(second.registry);
    const summary = await new MockActivityEnvironment(info(2, checkpoint)).run(two.activities.promoteBatch, two.args) as PromoteBatchSummary;
    expect(second.copies.map((c) => c.image).sort()).toEqual(['app3', 'app4']);
    expect(second.copies.every((c) => !c.assumeAbsent)).toBe(true);
    // The result covers the whole batch: the two settled before the crash and the two copied now.
    expect(summary).toMatchObject({ promotedEdges: 4, failedEdges: 0 });
    const doc = JSON.parse(two.store.docs.get(summary.resultKey)!) as PromoteBatchDocument;
    expect(doc.placed.map((p) => p.image).sort()).toEqual(['app1', 'app2', 'app3', 'app4']);
  });
});

describe('a retried batch never rewrites its result', () => {
  it('an attempt after a finished one returns the stored result, copies nothing and leaves the document as it was', async () => {
    const first = fakeRegistry();
    const { activities, args, store } = await setup(first.registry);
    const summary = (await new MockActivityEnvironment(info(1)).run(activities.promoteBatch, args)) as PromoteBatchSummary;
    const stored = store.docs.get(summary.resultKey);

    // The worker died after writing its result but before Temporal heard: attempt 2 starts afresh,
    // on a registry that would now fail every copy. It must not redo (or rewrite) anything.
    const failing = { ...first.registry, copy: async () => { throw new Error('registry down'); } } as unknown as RegistryPort;
    const again = createActivities({ config: loadConfig({}), store, registry: failing, log: pino({ level: 'silent' }) });
    const retried = (await new MockActivityEnvironment(info(2)).run(again.promoteBatch, args)) as PromoteBatchSummary;
    expect(retried).toEqual(summary);
    expect(store.docs.get(summary.resultKey)).toBe(stored);
    await expect(store.writeOnceJson(summary.resultKey, { ...JSON.parse(stored!), summary: { ...summary, promotedEdges: 0 } })).rejects.toThrow(/write-once/);
    expect(store.docs.get(summary.resultKey)).toBe(stored);
  });
});
