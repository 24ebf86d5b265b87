// Which part (Shard) an image belongs to: by the repository path of its primary destination, so
// that the digests of one repository, with their indexes and children, fall in one part, also
// when two projects promote into the same repository under different image names (the corpus
// has that). Mirrors follow the primary's path in kpromo manifests, so parts do not share a
// repository there either; where they would, the cost is a lost tag-record update (one more
// request next run), never a lost signature.
import type { Shard } from './input';

/** FNV-1a (32 bit) of the name, mod `of`: stable across processes and releases. */
export function shardOf(key: string, of: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % of;
}

export function inShard(key: string, shard: Shard | undefined): boolean {
  return !shard || shard.of <= 1 || shardOf(key, shard.of) === shard.index;
}

/** The name a part's result document carries: `sign`, or `sign-2-of-4`. */
export function shardedName(phase: string, shard: Shard | undefined): string {
  return shard && shard.of > 1 ? `${phase}-${shard.index + 1}-of-${shard.of}` : phase;
}
