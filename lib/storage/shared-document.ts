/**
 * S3 documents several runs update (the per-repository tag records, the attestation list of an
 * image): read with their ETag, merged, and replaced only if nobody wrote in between
 * (`If-Match`, or `If-None-Match: *` for a new one). A conflict means read again and merge again,
 * so no run's entries are lost to another's write. S3 checks the condition atomically, so unlike a
 * registry tag (lib/oci/shared-tag.ts) nothing needs reading back.
 */
import { AuditObjectChanged, type DocumentStore } from './audit-store';

export interface SharedDocumentOptions {
  /** Attempts before the last AuditObjectChanged is thrown (it is retryable). Default 8. */
  rounds?: number;
  /** Upper bound of the first pause between attempts, doubled each time, jittered. Default 50 ms. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The document as the caller just read it (saves the first read). */
  known?: { value: unknown; etag: string | undefined };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Merges into the document at `key`: `merge` gets what is there (undefined when absent) and returns
 * the document to write, or undefined when it holds everything already. Returns whether it wrote.
 */
export async function mergeSharedDocument<T>(
  store: DocumentStore,
  key: string,
  merge: (current: T | undefined) => T | undefined,
  opts: SharedDocumentOptions = {},
): Promise<boolean> {
  const rounds = opts.rounds ?? 8;
  const backoff = opts.backoffMs ?? 50;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  let known = opts.known as { value: T | undefined; etag: string | undefined } | undefined;
  for (let round = 0; ; round++) {
    if (round > 0) await sleep(Math.round(random() * backoff * 2 ** (round - 1)));
    const current = known ?? (await readVersioned<T>(store, key));
    known = undefined;
    const next = merge(current.value);
    if (next === undefined) return false;
    try {
      await store.replaceJsonIfUnchanged(key, next, current.etag);
      return true;
    } catch (err) {
      if (!(err instanceof AuditObjectChanged) || round + 1 >= rounds) throw err;
    }
  }
}

async function readVersioned<T>(store: DocumentStore, key: string): Promise<{ value: T | undefined; etag: string | undefined }> {
  const read = await store.readJsonVersioned<T>(key);
  return { value: read?.value, etag: read?.stored.etag };
}
