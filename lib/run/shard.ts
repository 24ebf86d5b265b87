// Which part (Shard) an image belongs to. By image name alone: the digests of one image, its
// index and children, and every repository it is promoted to (the same name under each
// destination registry) fall in one part, so no two parts ever write the same repository.
import type { Shard } from './types';

/** FNV-1a (32 bit) of the name, mod `of`: stable across processes and releases. */
export function shardOf(imageName: string, of: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < imageName.length; i++) {
    h ^= imageName.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % of;
}

export function inShard(imageName: string, shard: Shard | undefined): boolean {
  return !shard || shard.of <= 1 || shardOf(imageName, shard.of) === shard.index;
}

/** The name a part's result document carries: `sign`, or `sign-2-of-4`. */
export function shardedName(phase: string, shard: Shard | undefined): string {
  return shard && shard.of > 1 ? `${phase}-${shard.index + 1}-of-${shard.of}` : phase;
}
