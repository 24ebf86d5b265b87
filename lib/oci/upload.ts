// Blob uploads: POST a session, then either one monolithic PUT (small or
// in-memory blobs) or PATCH chunks streamed from the source, following the
// rotating Location, and a final PUT with the digest. Bytes are hashed as they
// are sent; a mismatch cancels the session before the final PUT, so a corrupt
// blob is never committed.
import { createHash, type Hash } from 'node:crypto';
import { pushScope } from './auth';
import { OCI_DEFAULTS } from './defaults';
import { sha256Digest } from './digest';
import { OciError } from './errors';
import type { Transport } from './transport';

export interface UploadOptions {
  /** PATCH chunk size for streamed blobs. */
  chunkSize: number;
  /** Streamed blobs up to this size are read whole and PUT in one request (retryable per request). */
  monolithicMaxBytes: number;
}

export const DEFAULT_UPLOAD: UploadOptions = OCI_DEFAULTS.upload;

export interface BlobTarget {
  host: string;
  repository: string;
  digest: string;
  size: number;
}

/** Starts an upload session (optionally as a cross-repository mount). */
export async function startUpload(
  t: Transport,
  host: string,
  repository: string,
  mount?: { digest: string; from: string },
): Promise<{ mounted: true } | { mounted: false; location: string }> {
  let path = `/v2/${repository}/blobs/uploads/`;
  const scopes = [pushScope(repository)];
  if (mount) {
    path += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
    // One token must carry push on the destination AND pull on the source, or the registry quietly declines the mount.
    scopes.push(`repository:${mount.from}:pull`);
  }
  const res = await t.request({
    host,
    method: 'POST',
    path,
    scopes,
    repository,
    operation: mount ? 'mount blob' : 'start blob upload',
    headers: { 'Content-Length': '0' },
  });
  if (res.status === 201) return { mounted: true };
  const loc = res.headers.get('location');
  if (res.status !== 202 || !loc) {
    throw new OciError({
      code: 'INVALID_RESPONSE',
      status: res.status,
      registry: host,
      repository,
      message: `blob upload start on ${host}/${repository} answered ${res.status} without an upload location`,
    });
  }
  return { mounted: false, location: new URL(loc, res.url).toString() };
}

/** Best-effort cancel of an upload session; failures are ignored (sessions expire anyway). */
export async function cancelUpload(t: Transport, host: string, repository: string, location: string): Promise<void> {
  try {
    await t.request({ host, method: 'DELETE', path: location, scopes: [pushScope(repository)], repository, operation: 'cancel blob upload', accept: [404] });
  } catch {
    // ignore
  }
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

function mismatch(target: BlobTarget, what: string): OciError {
  return new OciError({
    code: 'DIGEST_MISMATCH',
    retryable: false,
    registry: target.host,
    repository: target.repository,
    message: `blob ${target.digest} for ${target.host}/${target.repository}: ${what}`,
  });
}

/** Pulls bytes from a stream in pieces of at most `max`, keeping what is left over for the next call. */
class ByteSource {
  private leftover: Uint8Array | undefined;
  private done = false;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}
  async next(max: number): Promise<Uint8Array | undefined> {
    if (this.leftover) {
      const l = this.leftover;
      if (l.length <= max) {
        this.leftover = undefined;
        return l;
      }
      this.leftover = l.subarray(max);
      return l.subarray(0, max);
    }
    if (this.done) return undefined;
    for (;;) {
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        return undefined;
      }
      if (!value || value.length === 0) continue;
      if (value.length <= max) return value;
      this.leftover = value.subarray(max);
      return value.subarray(0, max);
    }
  }
  async atEnd(): Promise<boolean> {
    const extra = await this.next(1);
    if (extra) this.leftover = extra;
    return !extra;
  }
  cancel(): void {
    this.reader.cancel().catch(() => undefined);
  }
}

async function putMonolithic(t: Transport, target: BlobTarget, location: string, bytes: Uint8Array): Promise<void> {
  const got = sha256Digest(bytes);
  if (bytes.length !== target.size || got !== target.digest) {
    throw mismatch(target, `received ${bytes.length} bytes hashing to ${got}, expected ${target.size} bytes`);
  }
  await t.request({
    host: target.host,
    method: 'PUT',
    path: withDigest(location, target.digest),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    body: bytes,
    scopes: [pushScope(target.repository)],
    repository: target.repository,
    operation: 'put blob',
  });
}

async function readAll(src: ByteSource, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    // Read at most one byte past the limit: enough to know the source is too long.
    const piece = await src.next(limit + 1 - n);
    if (!piece) break;
    parts.push(piece);
    n += piece.length;
    if (n > limit) break;
  }
  return Buffer.concat(parts, n);
}

/**
 * Upload one blob whose digest and size are known in advance. `source` is the
 * content (in memory, or a stream read once). `location` reuses an open
 * session (e.g. from a declined mount). Returns the bytes sent.
 */
export async function uploadBlob(
  t: Transport,
  target: BlobTarget,
  source: Uint8Array | ReadableStream<Uint8Array>,
  opts: UploadOptions = DEFAULT_UPLOAD,
  location?: string,
): Promise<number> {
  const src = source instanceof Uint8Array ? undefined : new ByteSource(source.getReader());
  let loc = location;
  try {
    if (!src) {
      loc ??= await openSession(t, target);
      await putMonolithic(t, target, loc, source as Uint8Array);
      return target.size;
    }
    if (target.size <= opts.monolithicMaxBytes) {
      const bytes = await readAll(src, target.size);
      loc ??= await openSession(t, target);
      await putMonolithic(t, target, loc, bytes);
      return bytes.length;
    }
    loc ??= await openSession(t, target);
    const hash = createHash('sha256');
    let offset = 0;
    while (offset < target.size) {
      const len = Math.min(opts.chunkSize, target.size - offset);
      const res = await patchChunk(t, target, loc, src, offset, len, hash);
      offset += len;
      const next = res.headers.get('location');
      if (next) loc = new URL(next, res.url).toString();
    }
    if (!(await src.atEnd())) {
      throw mismatch(target, `source is longer than the expected ${target.size} bytes`);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== target.digest) {
      throw mismatch(target, `sent bytes hash to ${got}`);
    }
    await t.request({
      host: target.host,
      method: 'PUT',
      path: withDigest(loc, target.digest),
      headers: { 'Content-Length': '0' },
      body: new Uint8Array(0),
      scopes: [pushScope(target.repository)],
      repository: target.repository,
      operation: 'finish blob upload',
    });
    return target.size;
  } catch (e) {
    src?.cancel();
    // Nothing was committed: the final PUT is the only commit and it did not succeed.
    if (loc) await cancelUpload(t, target.host, target.repository, loc);
    throw e;
  }
}

async function openSession(t: Transport, target: BlobTarget): Promise<string> {
  const s = await startUpload(t, target.host, target.repository);
  if (s.mounted) throw new Error('unreachable: plain upload start cannot mount');
  return s.location;
}

class ShortSource extends Error {}

async function patchChunk(t: Transport, target: BlobTarget, location: string, src: ByteSource, offset: number, len: number, hash: Hash) {
  let remaining = len;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (remaining === 0) {
        ctl.close();
        return;
      }
      const piece = await src.next(remaining);
      if (!piece) {
        ctl.error(new ShortSource());
        return;
      }
      hash.update(piece);
      remaining -= piece.length;
      ctl.enqueue(piece);
    },
  });
  try {
    return await t.request({
      host: target.host,
      method: 'PATCH',
      path: location,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(len), 'Content-Range': `${offset}-${offset + len - 1}` },
      body,
      scopes: [pushScope(target.repository)],
      repository: target.repository,
      operation: 'upload blob chunk',
    });
  } catch (e) {
    if (remaining > 0 && (await src.atEnd())) throw mismatch(target, `source ended after ${offset + len - remaining} of ${target.size} bytes`);
    throw e;
  }
}
