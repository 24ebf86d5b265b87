// Reading the files a manifest tree names, within limits: the size is checked on the open file
// before anything is read (and no more than the limit is ever read, should the file grow), only a
// regular file is read, and a final path component that is a symlink is refused by the kernel
// (O_NOFOLLOW) when asked. A FIFO or device is refused without blocking on it (O_NONBLOCK).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { wholeFile } from './result';
import type { ManifestError } from './types';

/** A manifest or images file larger than this is refused before it is read. */
export const MAX_MANIFEST_FILE_BYTES = 16 * 1024 * 1024;
/** A key file a policy names may be at most this large. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export type BoundedRead =
  | { ok: true; text: string }
  | { ok: false; reason: 'too-large'; bytes: number }
  | { ok: false; reason: 'not-a-file' }
  | { ok: false; reason: 'symlink' }
  | { ok: false; reason: 'unreadable'; code: string };

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const kib = (bytes: number): string => `${Math.ceil(bytes / 1024)} KiB`;

/** "17.0 MiB" / "65 KiB": sizes in the unit of the limit they broke. */
export function sizeText(bytes: number, limit: number): string {
  return limit >= 1024 * 1024 ? mib(bytes) : kib(bytes);
}

export async function readBounded(file: string, maxBytes: number, opts: { noFollow?: boolean } = {}): Promise<BoundedRead> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0);
  let handle;
  try {
    handle = await open(file, flags);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    // Linux answers O_NOFOLLOW on a symlink with ELOOP.
    if (opts.noFollow && code === 'ELOOP') return { ok: false, reason: 'symlink' };
    return { ok: false, reason: 'unreadable', code };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: 'not-a-file' };
    if (stat.size > maxBytes) return { ok: false, reason: 'too-large', bytes: stat.size };
    // One byte more than the stat said tells a file that grew meanwhile: never read past the limit,
    // never take part of a file for all of it.
    const buffer = Buffer.alloc(stat.size + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > stat.size) return { ok: false, reason: 'unreadable', code: 'changed while being read' };
    return { ok: true, text: buffer.subarray(0, filled).toString('utf8') };
  } catch (e) {
    return { ok: false, reason: 'unreadable', code: (e as NodeJS.ErrnoException).code ?? 'error' };
  } finally {
    await handle.close();
  }
}

/** The finding for a manifest or images file that could not be read within the limits. */
export function manifestReadFinding(rel: string, read: Exclude<BoundedRead, { ok: true }>, what = ''): ManifestError {
  switch (read.reason) {
    case 'too-large':
      return wholeFile(
        rel,
        'manifest-too-large',
        `is ${sizeText(read.bytes, MAX_MANIFEST_FILE_BYTES)}; a manifest file may be at most ${MAX_MANIFEST_FILE_BYTES / 1024 / 1024} MiB`,
      );
    case 'not-a-file':
      return wholeFile(rel, 'file-read', 'is not a regular file');
    case 'symlink':
      return wholeFile(rel, 'thin-symlink', 'is a symlink; it must be a regular file');
    case 'unreadable':
      return wholeFile(rel, 'file-read', `cannot read${what ? ` ${what}` : ''} (${read.code})`);
  }
}
