/**
 * Plan: read what the registries hold (tags/list + HEAD, any OCI registry), give every edge a
 * verdict and write the plan to S3. The workflow keeps only its key, hash and counts.
 *
 * Requests: one tags/list per destination repository; a HEAD only for a listed tag the promoter
 * has no verified record of (see lib/run/tag-record.ts), for tagless digests, and for source
 * digests that still have an edge to promote (LOST detection). A plan where everything is in
 * place therefore costs about one request per repository.
 */
import { computePlan, copyTasks, inventoryQueries, repositoryKey, sourcesToCheck, type Inventory, type InventoryQueries, type PlanInputProject } from '../lib/run/plan';
import { planKey, tagRecordKey } from '../lib/run/storage-keys';
import { mergeTagRecord, type TagRecord } from '../lib/run/tag-record';
import type { Plan, PlanSummary, PromotionInput, RepositoryRef } from '../lib/run/types';
import { AuditObjectConflict, type StoredObject } from '../lib/storage/audit-store';
import { mapPool } from '../lib/util/pool';
import { heartbeat, runIds, withHeartbeat, type ActivityDeps } from './context';
import { loadBundle } from './load';

/** Repositories read at once; the registry client's per-host budget applies beneath this. */
const REPO_CONCURRENCY = 32;

export function createPlan(deps: ActivityDeps) {
  return async function plan(input: PromotionInput): Promise<PlanSummary> {
    const { workflowId, runId } = runIds();
    const key = planKey(workflowId, runId);
    // Written once: an earlier attempt that finished stands.
    const earlier = await deps.store.readJsonIfExists<Plan>(key);
    if (earlier) return summaryOf(earlier.value, earlier.stored);
    const bundle = await loadBundle(deps.store, input);
    const inventory = await withHeartbeat(
      () => ({ phase: 'inventory' }),
      () => readInventory(deps, bundle.projects, inventoryQueries(bundle.projects), !!input.options.verifyTags),
    );
    const planDoc = computePlan(bundle.projects, inventory, { workflowId, runId, bundleSha256: input.bundleSha256, createdAt: new Date().toISOString() });
    let stored;
    try {
      stored = await deps.store.writeOnceJson(key, planDoc);
    } catch (err) {
      if (!(err instanceof AuditObjectConflict)) throw err;
      const first = (await deps.store.readJsonIfExists<Plan>(key))!; // another attempt wrote it first: that one stands
      return summaryOf(first.value, first.stored);
    }
    deps.metrics.planned(planDoc.counts);
    deps.log.info({ workflowId, counts: planDoc.counts, planKey: stored.key }, 'plan written');
    return summaryOf(planDoc, stored);
  };
}

function summaryOf(plan: Plan, stored: StoredObject): PlanSummary {
  return {
    plan: { key: stored.key, sha256: stored.sha256 },
    counts: plan.counts,
    copyTasks: copyTasks(plan).length,
    sourceDigests: new Set(plan.edges.map((e) => `${repositoryKey(e.source)}@${e.digest}`)).size,
    registries: plan.registries,
  };
}

/** Destinations first; then only the source digests that still have something to promote. */
export async function readInventory(deps: ActivityDeps, projects: PlanInputProject[], q: InventoryQueries, verifyTags: boolean): Promise<Inventory> {
  const inv: Omit<Inventory, 'sourceDigests'> = { destinationTags: new Map(), destinationDigests: new Set(), signatureTags: new Map(), signedByPromoter: new Map(), newRepositories: new Set() };
  let done = 0;
  await mapPool([...q.destinations.values()], REPO_CONCURRENCY, async (d) => {
    await readDestination(deps, d, inv, verifyTags);
    if (++done % 50 === 0) heartbeat({ destinationsRead: done, of: q.destinations.size });
  });

  const sources = [...sourcesToCheck(projects, inv).values()];
  const present = new Set<string>();
  await mapPool(sources, REPO_CONCURRENCY, async ({ ref, digest }) => {
    if ((await deps.registry.manifestDigest(ref, digest)) === digest) present.add(`${repositoryKey(ref)}@${digest}`);
  });
  return { ...inv, sourceDigests: present };
}

async function readDestination(
  deps: ActivityDeps,
  d: { ref: RepositoryRef; tags: Map<string, string>; taglessDigests: Set<string> },
  inv: Omit<Inventory, 'sourceDigests'>,
  verifyTags: boolean,
): Promise<void> {
  const key = repositoryKey(d.ref);
  const listed = await deps.registry.listTags(d.ref);
  if (listed.length === 0) inv.newRepositories.add(key);
  const recordKey = tagRecordKey(d.ref.host, d.ref.repository);
  const record = listed.length > 0 ? await deps.store.getJsonIfExists<TagRecord>(recordKey) : undefined;

  const tagMap = new Map<string, string>();
  const verified: Record<string, string> = {};
  const listedSet = new Set(listed);
  const toHead: string[] = [];
  for (const [tag, wanted] of d.tags) {
    if (!listedSet.has(tag)) continue; // absent: to promote
    if (!verifyTags && record?.tags[tag] === wanted) tagMap.set(tag, wanted); // verified earlier, never moved by us
    else toHead.push(tag); // unknown or recorded elsewhere: look (a tag move must be seen, not assumed)
  }
  await mapPool(toHead, 8, async (tag) => {
    const digest = await deps.registry.manifestDigest(d.ref, tag);
    if (digest) {
      tagMap.set(tag, digest);
      verified[tag] = digest;
    }
  });
  for (const digest of tagMap.values()) inv.destinationDigests.add(`${key}@${digest}`);
  inv.destinationTags.set(key, tagMap);

  const signatureTags = listed.filter((t) => t.startsWith('sha256-'));
  if (signatureTags.length > 0) inv.signatureTags.set(key, signatureTags);

  const unknownTagless = [...d.taglessDigests].filter((digest) => !inv.destinationDigests.has(`${key}@${digest}`));
  await mapPool(unknownTagless, 8, async (digest) => {
    if ((await deps.registry.manifestDigest(d.ref, digest)) === digest) inv.destinationDigests.add(`${key}@${digest}`);
  });

  if (record?.signed) inv.signedByPromoter.set(key, record.signed);
  const next = mergeTagRecord(record, { tags: verified });
  if (next) await deps.store.overwriteJson(recordKey, next);
}
