/** Reading the run's inputs back from the audit store, verified against the hashes the workflow holds. */
import { ApplicationFailure } from '@temporalio/activity';
import { bundleSha256, type ManifestBundle } from '../../lib/manifests';
import type { ResultDocument, VerificationDocument } from '../../lib/run/documents';
import { copyTasks, type CopyTask } from '../../lib/run/plan';
import type { Plan } from '../../lib/run/plan-format';
import type { PromotionInput, StoredRef } from '../../lib/run/input';
import type { DocumentStore } from '../../lib/storage/audit-store';
import type { InPlaceImage } from './images';

export async function loadBundle(store: DocumentStore, input: PromotionInput): Promise<ManifestBundle> {
  try {
    // Verified by its identity, which leaves out where registries are written (see bundleSha256).
    const bundle = await store.getJson<ManifestBundle>(input.bundleKey);
    const sha = bundleSha256(bundle);
    if (sha !== input.bundleSha256) throw new Error(`content hashes to ${sha}, which does not match ${input.bundleSha256}`);
    return bundle;
  } catch (err) {
    const msg = (err as Error).message;
    if (/does not match|NoSuchKey|not found|404/i.test(msg)) {
      throw ApplicationFailure.nonRetryable(`manifest bundle ${input.bundleKey}: ${msg}`, 'InvalidInput');
    }
    throw err;
  }
}

/** One remembered value: asking for another id replaces it. A failed load is forgotten. */
class LatestOnly<T> {
  private last: { id: string; value: Promise<T> } | undefined;

  get(id: string, load: () => Promise<T>): Promise<T> {
    if (this.last?.id !== id) {
      const value = load();
      value.catch(() => {
        if (this.last?.value === value) this.last = undefined;
      });
      this.last = { id, value };
    }
    return this.last.value;
  }
}

/**
 * The documents a run's activities keep asking for (every Promote batch reads the plan and its
 * copy tasks; Sign and Report read them again), read and computed once per worker. Plans are
 * immutable and verified against their sha256, so the latest one is all that is kept.
 */
export class RunDocuments {
  private readonly plans = new LatestOnly<Plan>();
  private readonly tasks = new LatestOnly<CopyTask[]>();
  private readonly inPlace = new LatestOnly<InPlaceImage[]>();
  private readonly verifications = new LatestOnly<(VerificationDocument | undefined)[]>();

  constructor(private readonly store: DocumentStore) {}

  plan(ref: StoredRef): Promise<Plan> {
    return this.plans.get(`${ref.key}@${ref.sha256}`, () => this.store.getJson<Plan>(ref.key, ref.sha256));
  }

  /**
   * The plan's copy tasks minus those Provenance and Validate blocked, in batch order: computed once
   * per worker for a run (a sort over every edge), not once per Promote batch.
   */
  copyTasks(ref: StoredRef, verificationKeys: string[]): Promise<CopyTask[]> {
    const id = `${ref.key}@${ref.sha256}|${verificationKeys.join('|')}`;
    return this.tasks.get(id, async () => copyTasks(await this.plan(ref), await this.blockedDigests(verificationKeys)));
  }

  /** What Sign and Attest work from (./in-place.ts): read once per worker for all their parts. */
  imagesInPlace(id: string, load: () => Promise<InPlaceImage[]>): Promise<InPlaceImage[]> {
    return this.inPlace.get(id, load);
  }

  /** Provenance's and Validate's result documents (undefined where absent), read once per worker for every Attest part. */
  verificationDocuments(keys: string[]): Promise<(VerificationDocument | undefined)[]> {
    return this.verifications.get(keys.join('|'), () => Promise.all(keys.map((k) => this.store.getJsonIfExists<VerificationDocument>(k))));
  }

  /** Digests that Provenance or Validate blocked under a `require` policy. */
  async blockedDigests(keys: string[]): Promise<Set<string>> {
    const blocked = new Set<string>();
    for (const key of keys) {
      const doc = await this.store.getJson<ResultDocument<unknown>>(key);
      for (const d of doc.blockedDigests ?? []) blocked.add(d);
    }
    return blocked;
  }
}
