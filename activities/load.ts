/** Reading the run's inputs back from the audit store, verified against the hashes the workflow holds. */
import { ApplicationFailure } from '@temporalio/activity';
import type { ManifestBundle } from '../lib/manifests';
import { copyTasks, type CopyTask } from '../lib/run/plan';
import type { Plan, PromotionInput, ResultDocument, StoredRef } from '../lib/run/types';
import type { ActivityDeps } from './context';

export async function loadBundle(deps: ActivityDeps, input: PromotionInput): Promise<ManifestBundle> {
  try {
    return await deps.store.getJson<ManifestBundle>(input.bundleKey, input.bundleSha256);
  } catch (err) {
    const msg = (err as Error).message;
    if (/does not match|NoSuchKey|not found|404/i.test(msg)) {
      throw ApplicationFailure.nonRetryable(`manifest bundle ${input.bundleKey}: ${msg}`, 'InvalidInput');
    }
    throw err;
  }
}

/**
 * The plan, read once per worker while a run's activities keep asking for it (every Promote batch,
 * Sign twice). Plans are immutable and verified against their sha256, so the latest one is kept.
 */
let lastPlan: { id: string; plan: Promise<Plan> } | undefined;

export function loadPlan(deps: ActivityDeps, ref: StoredRef): Promise<Plan> {
  const id = `${ref.key}@${ref.sha256}`;
  if (lastPlan?.id !== id) {
    const plan = deps.store.getJson<Plan>(ref.key, ref.sha256);
    plan.catch(() => {
      if (lastPlan?.plan === plan) lastPlan = undefined;
    });
    lastPlan = { id, plan };
  }
  return lastPlan.plan;
}

let lastTasks: { id: string; tasks: Promise<CopyTask[]> } | undefined;

/**
 * The plan's copy tasks minus those Provenance and Validate blocked, in batch order: computed once
 * per worker for a run (a sort over every edge), not once per Promote batch.
 */
export function loadCopyTasks(deps: ActivityDeps, ref: StoredRef, verificationKeys: string[]): Promise<CopyTask[]> {
  const id = `${ref.key}@${ref.sha256}|${verificationKeys.join('|')}`;
  if (lastTasks?.id !== id) {
    const tasks = (async () => copyTasks(await loadPlan(deps, ref), await loadBlockedDigests(deps, verificationKeys)))();
    tasks.catch(() => {
      if (lastTasks?.tasks === tasks) lastTasks = undefined;
    });
    lastTasks = { id, tasks };
  }
  return lastTasks.tasks;
}

/** Digests that Provenance or Validate blocked under a `require` policy. */
export async function loadBlockedDigests(deps: ActivityDeps, keys: string[]): Promise<Set<string>> {
  const blocked = new Set<string>();
  for (const key of keys) {
    const doc = await deps.store.getJson<ResultDocument<unknown>>(key);
    for (const d of doc.blockedDigests ?? []) blocked.add(d);
  }
  return blocked;
}
