/**
 * The tag record: per destination repository, the digest each tag pointed at when the promoter
 * last verified it (a HEAD) or wrote it. Registries have no API that lists tags with their digests,
 * so without it a plan must HEAD every tag; with it, a tag listed by tags/list and recorded at the
 * wanted digest needs no request. The promoter never moves tags, so a record only goes stale when
 * someone else moves a tag: `--verify-tags` (and the nightly re-mirroring, which HEADs) catch that.
 */
export interface TagRecord {
  tags: Record<string, string>;
}

/** The record with `verified` merged in, or undefined when nothing changes (no write needed). */
export function mergeTagRecord(old: TagRecord | undefined, verified: Record<string, string>): TagRecord | undefined {
  const tags = { ...(old?.tags ?? {}) };
  let changed = false;
  for (const [tag, digest] of Object.entries(verified)) {
    if (tags[tag] !== digest) {
      tags[tag] = digest;
      changed = true;
    }
  }
  return changed ? { tags } : undefined;
}
