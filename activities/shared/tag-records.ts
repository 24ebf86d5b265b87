/**
 * Updates of the tag records (inventory/<host>/<repo>/tags.json, lib/run/tag-record.ts): read,
 * merge, and write only when something changed, on condition that nobody wrote in between
 * (lib/storage/shared-document.ts): parallel activities and runs touch one repository's record,
 * and the digests one of them notes as signed must not vanish under another's write.
 */
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import { tagRecordKey } from '../../lib/run/storage-keys';
import { mergeTagRecord, type TagRecord, type TagRecordUpdate } from '../../lib/run/tag-record';
import type { DocumentStore } from '../../lib/storage/audit-store';
import { mergeSharedDocument } from '../../lib/storage/shared-document';
import { mapPool } from '../../lib/util/pool';

const isEmpty = (u: TagRecordUpdate): boolean =>
  Object.keys(u.tags ?? {}).length === 0 &&
  Object.keys(u.signed ?? {}).length === 0 &&
  (u.digests ?? []).length === 0 &&
  Object.keys(u.attested ?? {}).length === 0;

/**
 * Merges `update` into the repository's record. `known`: the record as the caller just read it,
 * with its ETag (saves reading it again); otherwise it is read here.
 */
export async function updateTagRecord(
  store: DocumentStore,
  ref: RepositoryRef,
  update: TagRecordUpdate,
  known?: { record: TagRecord | undefined; etag: string | undefined },
): Promise<void> {
  const key = tagRecordKey(ref.host, ref.repository);
  await mergeSharedDocument<TagRecord>(
    store,
    key,
    (current) => mergeTagRecord(current, update),
    known ? { known: { value: known.record, etag: known.etag } } : {},
  );
}

/** Notes every entry in its repository's record: one read and at most one write per repository. */
export async function updateTagRecords(store: DocumentStore, entries: ({ ref: RepositoryRef } & TagRecordUpdate)[]): Promise<void> {
  const byRepo = new Map<
    string,
    { ref: RepositoryRef; tags: Record<string, string>; digests: string[]; signed: Record<string, string>; attested: Record<string, string[]> }
  >();
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
