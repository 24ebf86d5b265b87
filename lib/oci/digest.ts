import { createHash } from 'node:crypto';

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** "sha256:<hex>" -> "sha256-<hex>", the referrers tag schema's tag. */
export function digestTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}
