/**
 * One destination repository's inventory, as the Plan and the audit read it: one tags/list, the
 * promoter's tag record, and a HEAD only for a wanted tag or tagless digest the record does not
 * vouch for (all of them with `verifyTags`). What a HEAD saw goes into the record.
 */
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import { tagRecordKey } from '../../lib/run/storage-keys';
import { recordedDigests, type TagRecord } from '../../lib/run/tag-record';
import { mapPool } from '../../lib/util/pool';
import type { ActivityDeps } from './deps';
import { updateTagRecord } from './tag-records';

/** What one destination repository answered, as a chunk records it. */
export interface RepoAnswer {
  key: string;
  /** Asked-for tags that exist there, with the digest each carries. */
  tags: [string, string][];
  /** Tagless digests asked for that exist there. */
  digests: string[];
  signatureTags: string[];
  signed?: Record<string, string>;
  isNew: boolean;
}

/** `listed`: the whole tags/list answer, `record`: the tag record as read (the answer keeps only what the plan needs). */
export async function readDestination(
  deps: ActivityDeps,
  d: { ref: RepositoryRef; tags: Map<string, string>; taglessDigests: Set<string> },
  verifyTags: boolean,
): Promise<{ answer: RepoAnswer; listed: string[]; record: TagRecord | undefined }> {
  const key = repositoryKey(d.ref);
  const listed = await deps.registry.listTags(d.ref);
  const recordKey = tagRecordKey(d.ref.host, d.ref.repository);
  const read = listed.length > 0 ? await deps.store.readJsonVersioned<TagRecord>(recordKey) : undefined;
  const record = read?.value;

  const tagMap = new Map<string, string>();
  const verified: Record<string, string> = {};
  const listedSet = new Set(listed);
  const toHead: string[] = [];
  for (const [tag, wanted] of d.tags) {
    if (!listedSet.has(tag)) continue; // absent: to promote
    if (!verifyTags && record?.tags[tag] === wanted)
      tagMap.set(tag, wanted); // verified earlier, never moved by us
    else toHead.push(tag); // unknown or recorded elsewhere: look (a tag move must be seen, not assumed)
  }
  await mapPool(toHead, 8, async (tag) => {
    const digest = await deps.registry.manifestDigest(d.ref, tag);
    if (digest) {
      tagMap.set(tag, digest);
      verified[tag] = digest;
    }
  });
  const known = new Set(tagMap.values());
  const recorded = verifyTags ? new Set<string>() : recordedDigests(record, listed.length);
  const digests: string[] = [];
  const verifiedDigests: string[] = [];
  const unknownTagless: string[] = [];
  for (const digest of d.taglessDigests) {
    if (known.has(digest)) continue;
    if (recorded.has(digest))
      digests.push(digest); // placed or verified earlier: no HEAD
    else unknownTagless.push(digest);
  }
  await mapPool(unknownTagless, 8, async (digest) => {
    if ((await deps.registry.manifestDigest(d.ref, digest)) !== digest) return;
    digests.push(digest);
    verifiedDigests.push(digest);
  });

  // An empty listing read no record: nothing to merge into (and the record is not trusted there anyway).
  if (listed.length > 0) await updateTagRecord(deps.store, d.ref, { tags: verified, digests: verifiedDigests }, { record, etag: read?.stored.etag });
  const answer: RepoAnswer = {
    key,
    tags: [...tagMap],
    digests,
    signatureTags: listed.filter((t) => t.startsWith('sha256-')),
    ...(record?.signed ? { signed: record.signed } : {}),
    isNew: listed.length === 0,
  };
  return { answer, listed, record };
}
