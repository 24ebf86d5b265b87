/**
 * The tag record: per destination repository, what the promoter itself last verified there.
 *  - tags: the digest each tag pointed at when the promoter HEADed or wrote it. Registries have no
 *    API that lists tags with their digests, so without it a plan must HEAD every tag; with it, a
 *    tag listed by tags/list and recorded at the wanted digest needs no request.
 *  - digests: tagless digests (a dmap entry with no tags) the promoter placed there or found there
 *    by HEAD. tags/list never shows them, so without the record every plan would HEAD each one.
 *  - signed: digests whose signature by the worker's key (format and key hint) the promoter wrote or
 *    verified there (for an index: with its children's). Sign skips those while their tags are listed.
 *  - attested: digests with the ids (attestationId) of the promoter's attestations (promotion
 *    statements, verification summaries) it wrote there. The nightly re-mirroring puts back, where a
 *    destination lacks one that another destination of the image holds, what is missing.
 * The promoter never moves tags, deletes manifests or removes signatures, so a record only goes
 * stale when someone else does: `--verify-tags` and the nightly re-mirroring (which verifies
 * signatures) catch that.
 */
import { createHash } from 'node:crypto';

export interface TagRecord {
  tags: Record<string, string>;
  digests?: string[];
  signed?: Record<string, string>;
  attested?: Record<string, string[]>;
}

export interface TagRecordUpdate {
  tags?: Record<string, string>;
  digests?: string[];
  signed?: Record<string, string>;
  attested?: Record<string, string[]>;
}

/** A short id of an attestation's archive key, as the record notes it (12 bytes of its sha256: the record stays small). */
export const attestationId = (archiveKey: string): string => createHash('sha256').update(archiveKey).digest('hex').slice(0, 24);

/** The record with `update` merged in, or undefined when nothing changes (no write needed). */
export function mergeTagRecord(old: TagRecord | undefined, update: TagRecordUpdate): TagRecord | undefined {
  const tags = { ...(old?.tags ?? {}) };
  const signed = { ...(old?.signed ?? {}) };
  let changed = false;
  for (const [target, source] of [
    [tags, update.tags],
    [signed, update.signed],
  ] as const) {
    for (const [k, v] of Object.entries(source ?? {})) {
      if (target[k] !== v) {
        target[k] = v;
        changed = true;
      }
    }
  }
  const attested: Record<string, string[]> = { ...(old?.attested ?? {}) };
  for (const [digest, ids] of Object.entries(update.attested ?? {})) {
    const had = new Set(attested[digest] ?? []);
    if (ids.every((id) => had.has(id))) continue;
    attested[digest] = [...new Set([...had, ...ids])].sort();
    changed = true;
  }
  const digests = new Set(old?.digests ?? []);
  for (const d of update.digests ?? []) {
    if (digests.has(d)) continue;
    digests.add(d);
    changed = true;
  }
  if (!changed) return undefined;
  return {
    tags,
    ...(digests.size > 0 ? { digests: [...digests].sort() } : {}),
    ...(Object.keys(signed).length > 0 ? { signed } : {}),
    ...(Object.keys(attested).length > 0 ? { attested } : {}),
  };
}

/**
 * Tagless digests the record vouches for, given what tags/list showed: none when the repository
 * lists no tag at all (deleted or emptied since, so nothing recorded there can be trusted).
 */
export function recordedDigests(record: TagRecord | undefined, listedTags: number): ReadonlySet<string> {
  return new Set(listedTags > 0 ? (record?.digests ?? []) : []);
}
