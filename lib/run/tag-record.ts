/**
 * The tag record: per destination repository, what the promoter itself last verified there.
 *  - tags: the digest each tag pointed at when the promoter HEADed or wrote it. Registries have no
 *    API that lists tags with their digests, so without it a plan must HEAD every tag; with it, a
 *    tag listed by tags/list and recorded at the wanted digest needs no request.
 *  - signed: digests whose signature by the worker's key (format and key hint) the promoter wrote or
 *    verified there (for an index: with its children's). Sign skips those while their tags are listed.
 * The promoter never moves tags or removes signatures, so a record only goes stale when someone else
 * does: `--verify-tags` and the nightly re-mirroring (which verifies signatures) catch that.
 */
export interface TagRecord {
  tags: Record<string, string>;
  signed?: Record<string, string>;
}

export interface TagRecordUpdate {
  tags?: Record<string, string>;
  signed?: Record<string, string>;
}

/** The record with `update` merged in, or undefined when nothing changes (no write needed). */
export function mergeTagRecord(old: TagRecord | undefined, update: TagRecordUpdate): TagRecord | undefined {
  const tags = { ...(old?.tags ?? {}) };
  const signed = { ...(old?.signed ?? {}) };
  let changed = false;
  for (const [target, source] of [[tags, update.tags], [signed, update.signed]] as const) {
    for (const [k, v] of Object.entries(source ?? {})) {
      if (target[k] !== v) {
        target[k] = v;
        changed = true;
      }
    }
  }
  if (!changed) return undefined;
  return Object.keys(signed).length > 0 ? { tags, signed } : { tags };
}

