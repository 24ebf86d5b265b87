/**
 * Audit documents are written once. Two attempts of one activity may race (a worker thought dead
 * that was not) or follow each other (one finished, then its worker died before Temporal heard):
 * the first document written stands, and every later attempt goes on with that one.
 */
import { AuditObjectConflict, type DocumentStore, type StoredObject } from '../../lib/storage/audit-store';

export interface Standing<T> {
  value: T;
  stored: StoredObject;
  /** This call wrote it (false: an earlier attempt's stands). */
  ours: boolean;
}

/** Writes `value` at `key` unless something is there; returns what stands there now. */
export async function writeOnce<T>(store: DocumentStore, key: string, value: T): Promise<Standing<T>> {
  try {
    return { value, stored: await store.writeOnceJson(key, value), ours: true };
  } catch (err) {
    if (!(err instanceof AuditObjectConflict)) throw err;
    const first = await store.readJsonIfExists<T>(key);
    if (!first) throw err;
    return { ...first, ours: false };
  }
}
