/**
 * Updates of the tag records (inventory/<host>/<repo>/tags.json, lib/run/tag-record.ts): read,
 * merge, and write only when something changed. Parallel activities may touch one repository's
 * record; a lost update only costs a request in a later run, never a wrong verdict.
 */
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import { tagRecordKey } from '../../lib/run/storage-keys';
import { mergeTagRecord, type TagRecord, type TagRecordUpdate } from '../../lib/run/tag-record';
import type { DocumentStore } from '../../lib/storage/audit-store';
import { mapPool } from '../../lib/util/pool';

const isEmpty = (u: TagRecordUpdate): boolean =>
  Object.keys(u.tags ?? {}).length === 0 && Object.keys(u.signed ?? {}).length === 0 && (u.digests ?? []).length === 0 && Object.keys(u.attested ?? {}).length === 0;

/**
 * Merges `update` into the repository's record. `known`: the record as the caller just read it
 * (saves reading it again); otherwise it is read here.
 */
export async function updateTagRecord(
  store: DocumentStore,
  ref: RepositoryRef,
  update: TagRecordUpdate,
  known?: { record: TagRecord | undefined },
): Promise<void> {
  const key = tagRecordKey(ref.host, ref.repository);
  const current = known ? known.record : await store.getJsonIfExists<TagRecord>(key);
  const next = mergeTagRecord(current, update);
  if (next) await store.overwriteJson(key, next);
}

/** Notes every entry in its repository's record: one read and at most one write per repository. */
export async function updateTagRecords(store: DocumentStore, entries: ({ ref: RepositoryRef } & TagRecordUpdate)[]): Promise<void> {
  const byRepo = new Map<string, { ref: RepositoryRef; tags: Record<string, string>; digests: string[]; signed: Record<string, string>; attested: Record<string, string[]> }>();
  for (const e of entries) {
    const key = repositoryKey(e.ref);
    const entry = byRepo.get(key) ?? { ref: e.ref, tags: {}, digests: [], signed: {}, attested: {} };
    Object.assign(entry.tags, e.tags);
    entry.digests.push(...(e.digests ?? []));
    Object.assign(entry.signed, e.signed);
    for (const [d, ids] of Object.entries(e.attested ?? {})) entry.attested[d] = [...(entry.attested[d] ?? []), ...ids];
    byRepo.set(key, entry);
  }
  const updates = [...byRepo.values()].filter((u) => !isEmpty(u));
  await mapPool(updates, 8, ({ ref, tags, digests, signed, attested }) => updateTagRecord(store, ref, { tags, digests, signed, attested }));
}
