/**
 * Plan: read what the registries hold (tags/list + HEAD, any OCI registry), give every edge a
 * verdict and write the plan to S3. The workflow keeps only its key, hash and counts.
 *
 * Requests: one tags/list per destination repository; a HEAD only for a listed tag or a tagless
 * digest the promoter has no verified record of (see lib/run/tag-record.ts), and for source
 * digests that still have an edge to promote (LOST detection). A plan where everything is in
 * place therefore costs about one request per repository.
 *
 * Resumable: what has been read is written to S3 in chunks as it comes (write-once, under the run),
 * and the heartbeat says how many there are; a Plan retried on another worker reads them back and
 * asks the registries only about the rest. A million edges mean tens of thousands of repositories.
 */
import {
  computePlan,
  inventoryQueries,
  planEdges,
  repoFor,
  sourcesToCheck,
  type Inventory,
  type InventoryQueries,
  type PlanInputProject,
} from '../../lib/run/plan';
import { repositoryKey } from '../../lib/oci/reference';
import { planInventoryChunkKey, planKey } from '../../lib/run/storage-keys';
import type { Plan } from '../../lib/run/plan-format';
import type { PlanSummary } from '../../lib/run/outcomes';
import type { PromotionInput } from '../../lib/run/input';
import type { StoredObject } from '../../lib/storage/audit-store';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { readDestination, type RepoAnswer } from '../shared/destination-inventory';
import { writeOnce } from '../shared/write-once';
import { loadBundle } from '../shared/documents';

/** Repositories read at once; the registry client's per-host budget applies beneath this. */
const REPO_CONCURRENCY = 32;
/** A chunk is written once this many repositories (or source digests) are read, or this long has passed. */
const CHUNK_ITEMS = 500;
const CHUNK_MS = 5_000;

interface InventoryChunk {
  destinations?: RepoAnswer[];
  /** `${repositoryKey}@${digest}` of source digests that exist. */
  sources?: string[];
}

interface PlanCheckpoint {
  chunks: number;
}

export function createPlan(deps: ActivityDeps) {
  return async function plan(hb: Heartbeat, input: PromotionInput): Promise<PlanSummary> {
    const { workflowId, runId } = runIds();
    const key = planKey(workflowId, runId);
    // Written once: an earlier attempt that finished stands.
    const earlier = await deps.store.readJsonIfExists<Plan>(key);
    if (earlier) return summaryOf(earlier.value, earlier.stored);
    const bundle = await loadBundle(deps.store, input);
    const chunks = new ChunkLog(deps, hb, workflowId, runId);
    const inventory = await readInventory(deps, bundle.projects, inventoryQueries(bundle.projects), !!input.options.verifyTags, chunks);
    const planDoc = computePlan(bundle.projects, inventory, { workflowId, runId, bundleSha256: input.bundleSha256, createdAt: new Date().toISOString() });
    const { value, stored, ours } = await writeOnce(deps.store, key, planDoc);
    if (!ours) return summaryOf(value, stored); // another attempt wrote it first: that one stands
    deps.metrics.planned(planDoc.counts);
    deps.log.info({ workflowId, counts: planDoc.counts, planKey: stored.key, bytes: stored.bytes }, 'plan written');
    return summaryOf(planDoc, stored);
  };
}

function summaryOf(plan: Plan, stored: StoredObject): PlanSummary {
  const sources = new Set<string>();
  for (const p of plan.projects)
    for (const img of p.images) for (const d of img.digests) sources.add(`${repositoryKey(repoFor(p.source, img.name))}@${d.digest}`);
  const writes = copyTasksOf(plan);
  return {
    plan: { key: stored.key, sha256: stored.sha256 },
    counts: plan.counts,
    copyTasks: writes.tasks,
    sourceDigests: sources.size,
    registries: plan.registries,
    promoteHosts: writes.hosts,
  };
}

/** copyTasks(plan).length without building the tasks, and the hosts they write to (the run's lanes). */
function copyTasksOf(plan: Plan): { tasks: number; hosts: string[] } {
  if (plan.counts.promote === 0) return { tasks: 0, hosts: [] };
  const tasks = new Set<string>();
  const hosts = new Set<string>();
  for (const e of planEdges(plan)) {
    if (e.verdict !== 'promote') continue;
    tasks.add(`${repositoryKey(e.destination)}@${e.digest}`);
    hosts.add(e.destination.host);
  }
  return { tasks: tasks.size, hosts: [...hosts].sort() };
}

/**
 * The inventory read so far, written to S3 in chunks as it comes, the heartbeat carrying their
 * count. Chunks are numbered; a resumed attempt reads them all back (also any written after the
 * last heartbeat) and goes on numbering from there.
 */
class ChunkLog {
  private next = 0;
  private pending: InventoryChunk = {};
  private size = 0;
  private lastFlush = Date.now();
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: ActivityDeps,
    private readonly hb: Heartbeat,
    private readonly workflowId: string,
    private readonly runId: string,
  ) {}

  /** Every chunk an earlier attempt wrote. */
  async resume(): Promise<InventoryChunk[]> {
    const out: InventoryChunk[] = [];
    const heartbeated = this.hb.resumed<PlanCheckpoint>()?.chunks ?? 0;
    for (;;) {
      const chunk = await this.deps.store.getJsonIfExists<InventoryChunk>(planInventoryChunkKey(this.workflowId, this.runId, this.next));
      if (!chunk) break;
      out.push(chunk);
      this.next++;
    }
    if (out.length > 0) this.deps.log.info({ workflowId: this.workflowId, chunks: out.length, heartbeated }, 'plan resumed from its inventory checkpoints');
    this.hb.beat({ chunks: this.next } satisfies PlanCheckpoint);
    return out;
  }

  add(item: { destination?: RepoAnswer; source?: string }): void {
    if (item.destination) (this.pending.destinations ??= []).push(item.destination);
    if (item.source) (this.pending.sources ??= []).push(item.source);
    if (++this.size >= CHUNK_ITEMS || Date.now() - this.lastFlush >= CHUNK_MS) this.flushInBackground();
  }

  /** A write that fails here fails the final flush() too, so the activity sees it. */
  flushInBackground(): void {
    this.flush().catch(() => undefined);
  }

  /** Writes what is pending as the next chunk (one write at a time, in order). */
  flush(): Promise<void> {
    if (this.size === 0) return this.flushing;
    const chunk = this.pending;
    this.pending = {};
    this.size = 0;
    this.lastFlush = Date.now();
    this.flushing = this.flushing.then(async () => {
      await this.deps.store.writeOnceJson(planInventoryChunkKey(this.workflowId, this.runId, this.next), chunk);
      this.next++;
      this.hb.beat({ chunks: this.next } satisfies PlanCheckpoint);
    });
    return this.flushing;
  }
}

type PartialInventory = Omit<Inventory, 'sourceDigests'>;

function applyAnswer(inv: PartialInventory, a: RepoAnswer): void {
  inv.destinationTags.set(a.key, new Map(a.tags));
  for (const [, digest] of a.tags) inv.destinationDigests.add(`${a.key}@${digest}`);
  for (const digest of a.digests) inv.destinationDigests.add(`${a.key}@${digest}`);
  if (a.signatureTags.length > 0) inv.signatureTags.set(a.key, a.signatureTags);
  if (a.signed) inv.signedByPromoter.set(a.key, a.signed);
  if (a.isNew) inv.newRepositories.add(a.key);
}

/** Destinations first; then only the source digests that still have something to promote. */
async function readInventory(deps: ActivityDeps, projects: PlanInputProject[], q: InventoryQueries, verifyTags: boolean, chunks: ChunkLog): Promise<Inventory> {
  const inv: PartialInventory = {
    destinationTags: new Map(),
    destinationDigests: new Set(),
    signatureTags: new Map(),
    signedByPromoter: new Map(),
    newRepositories: new Set(),
  };
  const present = new Set<string>();
  const sourcesDone = new Set<string>();
  for (const chunk of await chunks.resume()) {
    for (const a of chunk.destinations ?? []) applyAnswer(inv, a);
    for (const s of chunk.sources ?? []) sourcesDone.add(s);
  }
  const keepAlive = setInterval(() => chunks.flushInBackground(), CHUNK_MS);
  try {
    const destinations = [...q.destinations.values()].filter((d) => !inv.destinationTags.has(repositoryKey(d.ref)));
    await mapPool(destinations, REPO_CONCURRENCY, async (d) => {
      const { answer } = await readDestination(deps, d, verifyTags);
      applyAnswer(inv, answer);
      chunks.add({ destination: answer });
    });

    // A source chunk entry is `+key` (there) or `-key` (missing): both settle the question.
    for (const s of sourcesDone) if (s.startsWith('+')) present.add(s.slice(1));
    const sources = [...sourcesToCheck(projects, inv).values()].filter(({ ref, digest }) => {
      const key = `${repositoryKey(ref)}@${digest}`;
      return !sourcesDone.has(`+${key}`) && !sourcesDone.has(`-${key}`);
    });
    await mapPool(sources, REPO_CONCURRENCY, async ({ ref, digest }) => {
      const key = `${repositoryKey(ref)}@${digest}`;
      const there = (await deps.registry.manifestDigest(ref, digest)) === digest;
      if (there) present.add(key);
      chunks.add({ source: `${there ? '+' : '-'}${key}` });
    });
    await chunks.flush();
  } finally {
    clearInterval(keepAlive);
  }
  return { ...inv, sourceDigests: present };
}
