// Tags several writers update: cosign's `sha256-<hex>.sig` (one layer per signature) and the
// `sha256-<hex>` referrers fallback index (one entry per referrer). Another promotion, a nightly
// mirroring or cosign itself may add to the same tag at any time, and a registry keeps only the
// last PUT, so every update here is a merge that keeps what others wrote:
//  1. read the tag right before writing (never trust an older listing: cosign may have written since);
//  2. merge our entries into what is there (a union; what others wrote keeps its place);
//  3. write it, conditionally where the registry honours it (If-Match: the digest read, or
//     If-None-Match: * for a tag that was absent); a 412 means start again from 1;
//  4. read it back (HEAD): our digest there means the write stands; otherwise read it whole and, when
//     an entry of ours vanished (a writer who did not merge came after us), start again from 2.
// Rounds are bounded and spaced with jitter, so writers that collide do not collide again in step.
// Distribution 2.8 and olareg ignore the conditions (a PUT with a wrong If-Match is stored): on
// them step 4 is the guard. Another promoter that loses its entry to us finds out in its own step 4
// and writes it again; a writer that does not read back (cosign) can still lose what it writes in
// the instant between our read and our write.
import type { RegistryClient } from './client';
import { OciError, isOciError } from './errors';
import type { RepositoryRef } from './reference';

/** A tag as read: its manifest bytes and their digest. */
export interface TagContent {
  bytes: Uint8Array;
  digest: string;
}

/** What a writer puts under the tag. */
interface TagWrite extends TagContent {
  mediaType: string;
}

/** One tag in one repository, as the update loop sees it (a registry, or the tests' in-memory one). */
export interface SharedTag {
  /** Where it is, for messages: `host/repository:tag`. */
  readonly where: string;
  read(): Promise<TagContent | undefined>;
  /** The digest the tag points at now (a HEAD), undefined when absent. */
  digest(): Promise<string | undefined>;
  /**
   * Writes `bytes` under the tag, on condition that it still is `readAt` (undefined: absent).
   * Throws an OciError PRECONDITION_FAILED when a registry that checks the condition refuses it.
   */
  write(content: TagWrite, readAt: string | undefined): Promise<void>;
}

/** What one writer wants in the tag. */
export interface SharedTagUpdate {
  /** The content with our entries merged into `current`; undefined when it holds them all already. */
  merge(current: TagContent | undefined): Promise<TagWrite | undefined> | TagWrite | undefined;
}

export interface SharedTagOptions {
  /** Rounds of read, merge, write and read back before giving up (retryably). Default 6. */
  rounds?: number;
  /** Upper bound of the first pause between rounds, doubled each round, jittered. Default 100 ms. */
  backoffMs?: number;
  /** How to wait (tests pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type SharedTagResult = 'written' | 'unchanged';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Merges `update` into `tag` by the rules above. */
export async function updateSharedTag(tag: SharedTag, update: SharedTagUpdate, opts: SharedTagOptions = {}): Promise<SharedTagResult> {
  const rounds = opts.rounds ?? 6;
  const backoff = opts.backoffMs ?? 100;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  let wrote = false;
  let current = await tag.read();
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await sleep(Math.round(random() * backoff * 2 ** (round - 1)));
    const next = await update.merge(current);
    if (!next) return wrote ? 'written' : 'unchanged';
    try {
      await tag.write(next, current?.digest);
    } catch (err) {
      if (!isOciError(err, 'PRECONDITION_FAILED')) throw err;
      current = await tag.read();
      continue;
    }
    wrote = true;
    if ((await tag.digest()) === next.digest) return 'written';
    // Somebody wrote after us: whether they kept our entries is what the next merge finds out.
    current = await tag.read();
  }
  if (!(await update.merge(current))) return wrote ? 'written' : 'unchanged';
  throw new OciError({ code: 'SERVER_ERROR', retryable: true, message: `could not update ${tag.where}: other writers kept replacing it (${rounds} rounds)` });
}

/** A tag of a repository on a registry, written conditionally (see RegistryClient.putManifestDetailed). */
export function registryTag(client: RegistryClient, repo: RepositoryRef, tag: string): SharedTag {
  // Host and repository only: `repo` may be a DigestRef, and a digest would win over the tag.
  const ref = { host: repo.host, repository: repo.repository, tag };
  const absent = (err: unknown) => isOciError(err, 'MANIFEST_UNKNOWN') || isOciError(err, 'NAME_UNKNOWN');
  return {
    where: `${repo.host}/${repo.repository}:${tag}`,
    async read() {
      try {
        const m = await client.getManifest(ref);
        return { bytes: m.bytes, digest: m.digest };
      } catch (err) {
        if (absent(err)) return undefined;
        throw err;
      }
    },
    async digest() {
      return (await client.headManifest(ref))?.digest;
    },
    async write(content, readAt) {
      await client.putManifestDetailed(ref, content.bytes, content.mediaType, readAt ? { ifMatch: readAt } : { ifNoneMatch: '*' });
    },
  };
}
