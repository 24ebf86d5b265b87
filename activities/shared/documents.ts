/** Reading the run's inputs back from the audit store, verified against the hashes the workflow holds. */
import { ApplicationFailure } from '@temporalio/activity';
import { bundleSha256, ManifestBundleError, parseManifestBundle, type ManifestBundle } from '../../lib/manifests';
import type { ResultDocument, VerificationDocument } from '../../lib/run/documents';
import { copyTasks, type CopyTask } from '../../lib/run/plan';
import type { Plan } from '../../lib/run/plan-format';
import type { PromotionInput, ResultRef, StoredRef } from '../../lib/run/input';
import { bundleShaOfKey } from '../../lib/run/storage-keys';
import type { DocumentStore } from '../../lib/storage/audit-store';
import type { InPlaceImage } from './images';

/**
 * The one checked path for a document read by hash: its bytes must hash to `ref.sha256`, or the
 * read fails for good (InvalidInput): what is stored will not change by asking again, and a
 * document altered in the bucket must not steer a phase.
 */
async function readByHash<T>(store: DocumentStore, ref: StoredRef): Promise<T> {
  try {
    return await store.getJson<T>(ref.key, ref.sha256);
  } catch (err) {
    throw refused(ref.key, err);
  }
}

/**
 * A result document by its key and, where the workflow holds it, its hash. A bare key comes from
 * a run that began before result hashes were carried: that one is read as it was then.
 */
export function readResult<T>(store: DocumentStore, ref: ResultRef): Promise<T> {
  return typeof ref === 'string' ? store.getJson<T>(ref) : readByHash<T>(store, ref);
}

/** The run's manifest bundle: its identity hash as the workflow holds it, then the CLI's schema and rules. */
export function loadBundle(store: DocumentStore, input: PromotionInput): Promise<ManifestBundle> {
  return loadBundleAt(store, input.bundleKey, input.bundleSha256);
}

/**
 * A bundle by its content address (`inputs/<sha256>.json`): the hash the key names must be the
 * bundle's identity (the nightly re-mirroring reads bundles by key alone).
 */
export function loadBundleByKey(store: DocumentStore, key: string): Promise<ManifestBundle> {
  const sha = bundleShaOfKey(key);
  if (!sha) throw ApplicationFailure.nonRetryable(`manifest bundle ${key}: not a bundle's content address (inputs/<sha256>.json)`, 'InvalidInput');
  return loadBundleAt(store, key, sha);
}

async function loadBundleAt(store: DocumentStore, key: string, expectSha256: string): Promise<ManifestBundle> {
  let stored: unknown;
  try {
    stored = await store.getJson<unknown>(key);
  } catch (err) {
    throw refused(key, err);
  }
  try {
    // Verified by its identity, which leaves out where registries are written (see bundleSha256),
    // on what is stored, before the schema drops anything it does not know.
    const sha = bundleSha256(stored as ManifestBundle);
    if (sha !== expectSha256) throw new Error(`content hashes to ${sha}, which does not match ${expectSha256}`);
    // Held to what the CLI holds manifests to: a bundle nobody loaded from reviewed manifests
    // (written by hand with its own hash) is refused before any phase acts on it.
    return parseManifestBundle(stored);
  } catch (err) {
    if (err instanceof ManifestBundleError || /does not match/.test((err as Error).message)) {
      throw ApplicationFailure.nonRetryable(`manifest bundle ${key}: ${(err as Error).message}`, 'InvalidInput');
    }
    throw err;
  }
}

/** A read that cannot succeed by retrying (no such object, content not what its hash says) fails for good. */
function refused(key: string, err: unknown): unknown {
  const msg = (err as Error).message;
  if (/does not match|NoSuchKey|not found|404/i.test(msg)) return ApplicationFailure.nonRetryable(msg.includes(key) ? msg : `${key}: ${msg}`, 'InvalidInput');
  return err;
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
    return this.plans.get(`${ref.key}@${ref.sha256}`, () => readByHash<Plan>(this.store, ref));
  }

  /**
   * The plan's copy tasks minus those Provenance and Validate blocked, in batch order: computed once
   * per worker for a run (a sort over every edge), not once per Promote batch.
   */
  copyTasks(ref: StoredRef, verification: ResultRef[]): Promise<CopyTask[]> {
    const id = `${ref.key}@${ref.sha256}|${verification.map((v) => (typeof v === 'string' ? v : `${v.key}@${v.sha256}`)).join('|')}`;
    return this.tasks.get(id, async () => copyTasks(await this.plan(ref), await this.blockedDigests(verification)));
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
  async blockedDigests(results: ResultRef[]): Promise<Set<string>> {
    const blocked = new Set<string>();
    for (const ref of results) {
      const doc = await readResult<ResultDocument<unknown>>(this.store, ref);
      for (const d of doc.blockedDigests ?? []) blocked.add(d);
    }
    return blocked;
  }
}
