/**
 * Plan: read what the registries hold (tags/list + HEAD, any OCI registry), give every edge a
 * verdict and write the plan to S3. The workflow keeps only its key, hash and counts.
 */
import { inventoryQueries, computePlan, copyTasks, repoKey, type Inventory } from '../lib/run/plan';
import { planKey } from '../lib/run/keys';
import type { PlanSummary, PromotionInput, RepoRef } from '../lib/run/types';
import { mapPool } from '../lib/util/pool';
import { heartbeat, runIds, withHeartbeat, type ActivityDeps } from './context';
import { loadBundle } from './load';

/** Repositories read at once; the registry client's per-host budget applies beneath this. */
const REPO_CONCURRENCY = 32;

export function createPlan(deps: ActivityDeps) {
  return async function plan(input: PromotionInput): Promise<PlanSummary> {
    const { workflowId, runId } = runIds();
    const bundle = await loadBundle(deps, input);
    const queries = inventoryQueries(bundle.projects);
    const inventory = await withHeartbeat(() => ({ phase: 'inventory' }), () => readInventory(deps, queries));
    const planDoc = computePlan(bundle.projects, inventory, { workflowId, runId, bundleSha256: input.bundleSha256, createdAt: new Date().toISOString() });
    const stored = await deps.store.putJson(planKey(workflowId, runId), planDoc);
    const sourceDigests = new Set(planDoc.edges.map((e) => `${repoKey(e.source)}@${e.digest}`)).size;
    deps.log.info({ workflowId, counts: planDoc.counts, planKey: stored.key }, 'plan written');
    return {
      plan: { key: stored.key, sha256: stored.sha256 },
      counts: planDoc.counts,
      copyTasks: copyTasks(planDoc).length,
      sourceDigests,
      registries: planDoc.registries,
    };
  };
}

/** Ask each source repository for the named digests, and each destination repository for its tags. */
export async function readInventory(deps: ActivityDeps, q: ReturnType<typeof inventoryQueries>): Promise<Inventory> {
  const inv: Inventory = { sourceDigests: new Set(), destinationTags: new Map(), destinationDigests: new Set() };
  let done = 0;
  const total = q.sources.size + q.destinations.size;
  const tick = (): void => {
    done++;
    if (done % 50 === 0 || done === total) heartbeat({ reposRead: done, reposTotal: total });
  };

  await mapPool([...q.sources.values()], REPO_CONCURRENCY, async ({ ref, digests }) => {
    for (const digest of await presentDigests(deps, ref, [...digests])) inv.sourceDigests.add(`${repoKey(ref)}@${digest}`);
    tick();
  });

  await mapPool([...q.destinations.values()], REPO_CONCURRENCY, async ({ ref, tags, taglessDigests }) => {
    const existing = new Set(await deps.registry.listTags(ref));
    const wanted = [...tags].filter((t) => existing.has(t));
    const tagMap = new Map<string, string>();
    await mapPool(wanted, 8, async (tag) => {
      const digest = await deps.registry.manifestDigest(ref, tag);
      if (digest) {
        tagMap.set(tag, digest);
        inv.destinationDigests.add(`${repoKey(ref)}@${digest}`);
      }
    });
    inv.destinationTags.set(repoKey(ref), tagMap);
    if (existing.size > 0 || taglessDigests.size > 0) {
      const unknown = [...taglessDigests].filter((d) => !inv.destinationDigests.has(`${repoKey(ref)}@${d}`));
      for (const digest of await presentDigests(deps, ref, unknown)) inv.destinationDigests.add(`${repoKey(ref)}@${digest}`);
    }
    tick();
  });
  return inv;
}

async function presentDigests(deps: ActivityDeps, ref: RepoRef, digests: string[]): Promise<string[]> {
  const found = await mapPool(digests, 8, async (d) => ((await deps.registry.manifestDigest(ref, d)) === d ? d : undefined));
  return found.filter((d): d is string => d !== undefined);
}
