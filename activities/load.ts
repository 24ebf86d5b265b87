/** Reading the run's inputs back from the audit store, verified against the hashes the workflow holds. */
import { ApplicationFailure } from '@temporalio/activity';
import type { ManifestBundle } from '../lib/manifests';
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

export async function loadPlan(deps: ActivityDeps, ref: StoredRef): Promise<Plan> {
  return deps.store.getJson<Plan>(ref.key, ref.sha256);
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
