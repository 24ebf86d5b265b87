// Copy by digest, the core of promotion: manifests byte for byte (digests
// preserved), index children before the index, blobs before the manifest
// that needs them, tags last and never moved. Blobs come, in order of
// preference, from: already at the destination -> mounted from a repository
// on the same host -> streamed from the source.
import { BlobCache } from './blob-cache';
import type { BlobBytes } from './blob-bytes';
import type { ManifestCache } from './manifest-cache';
import { OCI_DEFAULTS } from './defaults';
import type { RegistryClient } from './client';
import { OciError, isOciError } from './errors';
import { isImageManifestMediaType, isIndexMediaType, type Descriptor, type ImageIndex, type ImageManifest } from './media-types';
import type { DigestRef, RepositoryRef } from './reference';

type CopyProgress =
  | { kind: 'blob'; digest: string; size: number; action: 'skipped' | 'mounted' | 'uploaded'; from?: string }
  | { kind: 'manifest'; digest: string; action: 'written' | 'present' }
  | { kind: 'tag'; tag: string; action: 'written' | 'present' | 'refused' };

export interface CopyOptions {
  tags?: string[];
  blobCache?: BlobCache;
  /** Source manifests read earlier (by this worker): a digest copied to many destinations is read once. */
  manifestCache?: ManifestCache;
  /** Small source blobs read earlier (by this worker): one read serves every registry host. */
  blobBytes?: BlobBytes;
  onProgress?: (e: CopyProgress) => void;
  /** Blobs (and index children) transferred at once within this copy. */
  concurrency?: number;
  /** Whole-blob attempts for streamed uploads (a stream cannot be replayed per request). */
  blobAttempts?: number;
  /**
   * The destination repository held nothing when this copy was planned and nothing but this run
   * writes it: skip the existence checks (HEAD) for what the blob cache does not know. Only for a
   * first attempt; a retry must look, since the attempt before it may have written.
   */
  assumeAbsent?: boolean;
}

export interface CopyResult {
  digest: string;
  mediaType: string;
  /** Manifests written (index and children). */
  manifests: number;
  /** Same as `manifests`. */
  manifestsWritten: number;
  manifestsPresent: number;
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  bytesUploaded: number;
  tagsWritten: string[];
  tagsPresent: string[];
  /** Tags that already pointed at another digest: left where they were (the promoter never moves a tag). */
  tagMoves: TagMove[];
}

interface TagMove {
  tag: string;
  currentDigest: string;
}

/** Runs fn over items, at most n at once; stops starting new work after the first failure and rethrows it. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failure) throw failure.e;
}

class Copier {
  readonly result: CopyResult;
  private readonly cache: BlobCache;
  private readonly concurrency: number;
  private readonly blobAttempts: number;

  constructor(
    private readonly client: RegistryClient,
    private readonly src: DigestRef,
    private readonly dst: RepositoryRef,
    private readonly opts: CopyOptions,
  ) {
    this.cache = opts.blobCache ?? new BlobCache();
    this.concurrency = opts.concurrency ?? OCI_DEFAULTS.copyConcurrency;
    this.blobAttempts = opts.blobAttempts ?? OCI_DEFAULTS.blobAttempts;
    this.result = {
      digest: src.digest,
      mediaType: '',
      manifests: 0,
      manifestsWritten: 0,
      manifestsPresent: 0,
      blobsUploaded: 0,
      blobsMounted: 0,
      blobsSkipped: 0,
      bytesUploaded: 0,
      tagsWritten: [],
      tagsPresent: [],
      tagMoves: [],
    };
  }

  private progress(e: CopyProgress): void {
    this.opts.onProgress?.(e);
  }

  /**
   * Copies the manifest tree under `digest`; returns its bytes when it had to fetch them. With
   * `deferPut` the manifest itself is not written: the caller writes it under its tags.
   */
  async manifest(digest: string, deferPut = false): Promise<{ mediaType: string; bytes?: Uint8Array; deferred?: Partial<ImageManifest> }> {
    const { client, src, dst } = this;
    const present = this.opts.assumeAbsent ? undefined : await client.headManifest({ host: dst.host, repository: dst.repository, digest });
    if (present) {
      // A registry accepts a manifest only once everything it references is there, so the subtree is complete.
      this.result.manifestsPresent++;
      this.progress({ kind: 'manifest', digest, action: 'present' });
      return { mediaType: present.mediaType };
    }
    const m = await this.sourceManifest(digest);
    const doc = JSON.parse(new TextDecoder().decode(m.bytes)) as Partial<ImageManifest & ImageIndex> & { schemaVersion?: number };
    const mediaType = m.mediaType;
    if (isIndexMediaType(mediaType) || (Array.isArray(doc.manifests) && !doc.config)) {
      await pool(doc.manifests ?? [], Math.min(2, this.concurrency), async (child) => {
        await this.manifest(child.digest);
      });
    } else if (isImageManifestMediaType(mediaType) || doc.config) {
      const blobs = [doc.config!, ...(doc.layers ?? [])].filter((d) => !d.urls?.length); // foreign layers stay where they are
      await pool(dedupe(blobs), this.concurrency, (d) => this.blob(d));
    } else {
      throw new OciError({
        code: 'UNSUPPORTED',
        registry: src.host,
        repository: src.repository,
        message: `cannot copy ${digest}: unsupported manifest type ${mediaType}`,
      });
    }
    if (deferPut) return { mediaType, bytes: m.bytes, deferred: doc };
    await this.putManifest(digest, m.bytes, mediaType, doc);
    return { mediaType, bytes: m.bytes };
  }

  private async sourceManifest(digest: string) {
    const { client, src } = this;
    const read = () => client.getManifest({ host: src.host, repository: src.repository, digest });
    return this.opts.manifestCache ? this.opts.manifestCache.getOrRead(src.host, src.repository, digest, read) : read();
  }

  async putManifest(digest: string, bytes: Uint8Array, mediaType: string, doc: Partial<ImageManifest>, tag?: string): Promise<void> {
    const ref = tag ? { host: this.dst.host, repository: this.dst.repository, tag } : { host: this.dst.host, repository: this.dst.repository, digest };
    try {
      await this.client.putManifest(ref, bytes, mediaType);
    } catch (e) {
      // A stale cache entry (blob deleted since) shows up here: forget, re-check with HEAD, retry once.
      if (!(isOciError(e, 'MANIFEST_BLOB_UNKNOWN') || isOciError(e, 'BLOB_UNKNOWN')) || !doc.config) throw e;
      const blobs = dedupe([doc.config, ...(doc.layers ?? [])].filter((d) => !d.urls?.length));
      for (const b of blobs) this.cache.forget(this.dst.host, this.dst.repository, b.digest);
      await pool(blobs, this.concurrency, (d) => this.blob(d));
      await this.client.putManifest(ref, bytes, mediaType);
    }
    this.result.manifests++;
    this.result.manifestsWritten++;
    this.progress({ kind: 'manifest', digest, action: 'written' });
  }

  private skipped(d: Descriptor): void {
    this.result.blobsSkipped++;
    this.progress({ kind: 'blob', digest: d.digest, size: d.size, action: 'skipped' });
  }

  async blob(d: Descriptor): Promise<void> {
    const { client, src, dst, cache } = this;
    if (cache.has(dst.host, dst.repository, d.digest)) return this.skipped(d);
    if (!this.opts.assumeAbsent && (await client.headBlob(dst.host, dst.repository, d.digest)) !== undefined) {
      cache.add(dst.host, dst.repository, d.digest);
      return this.skipped(d);
    }
    await cache.exclusive(dst.host, d.digest, async () => {
      // Another copy may have brought it here while we waited.
      if (cache.has(dst.host, dst.repository, d.digest)) return this.skipped(d);
      const candidates = cache.reposWith(dst.host, d.digest).filter((r) => r !== dst.repository);
      if (src.host === dst.host && src.repository !== dst.repository && !candidates.includes(src.repository)) candidates.unshift(src.repository);
      let session: string | undefined;
      for (const from of candidates.slice(0, 3)) {
        const r = await client.mountOrStartUpload(dst.host, dst.repository, d.digest, from);
        if (r.mounted) {
          cache.add(dst.host, dst.repository, d.digest);
          this.result.blobsMounted++;
          this.progress({ kind: 'blob', digest: d.digest, size: d.size, action: 'mounted', from });
          return;
        }
        // 202: the registry opened an upload instead; the cache was stale for that repository. Reuse the session.
        cache.forget(dst.host, from, d.digest);
        session = r.location;
        break;
      }
      await this.upload(d, session);
    });
  }

  private async upload(d: Descriptor, session: string | undefined): Promise<void> {
    const { client, src, dst, cache } = this;
    for (let attempt = 1; ; attempt++) {
      try {
        const sent = await client.uploadBlob(dst.host, dst.repository, { digest: d.digest, size: d.size }, await this.sourceBlob(d), session);
        cache.add(dst.host, dst.repository, d.digest);
        cache.add(src.host, src.repository, d.digest);
        this.result.blobsUploaded++;
        this.result.bytesUploaded += sent;
        this.progress({ kind: 'blob', digest: d.digest, size: d.size, action: 'uploaded' });
        return;
      } catch (e) {
        session = undefined; // the upload cancelled it
        if (!(e instanceof OciError) || !e.retryable || attempt >= this.blobAttempts) throw e;
        // The final PUT may have landed before the connection broke.
        if ((await client.headBlob(dst.host, dst.repository, d.digest)) !== undefined) {
          cache.add(dst.host, dst.repository, d.digest);
          return this.skipped(d);
        }
      }
    }
  }

  /** A small blob whole (read once, held for the other hosts), a large one as a stream. */
  private async sourceBlob(d: Descriptor): Promise<Uint8Array | ReadableStream<Uint8Array>> {
    const { client, src } = this;
    const held = this.opts.blobBytes;
    if (!held || d.size > held.maxBlobBytes) return (await client.getBlobStream(src.host, src.repository, d.digest)).stream;
    return held.getOrRead(d.digest, () => client.getBlob(src.host, src.repository, d.digest)); // verified against the digest
  }

  async tags(tags: readonly string[], top: { mediaType: string; bytes?: Uint8Array; deferred?: Partial<ImageManifest> }): Promise<void> {
    const { client, dst, src } = this;
    let bytes = top.bytes;
    let mediaType = top.mediaType;
    // A manifest not yet written goes in with its first tag's PUT: one request instead of two.
    let deferred = top.deferred;
    for (const tag of tags) {
      const ref = { host: dst.host, repository: dst.repository, tag };
      // Re-checked right before the write: a tag that points elsewhere is never moved. (A repository
      // the plan found empty, on a first attempt, has no tags but the ones this copy writes.)
      const current = this.opts.assumeAbsent ? undefined : await client.headManifest(ref);
      if (current?.digest === src.digest) {
        this.result.tagsPresent.push(tag);
        this.progress({ kind: 'tag', tag, action: 'present' });
        continue;
      }
      if (current) {
        this.result.tagMoves.push({ tag, currentDigest: current.digest });
        this.progress({ kind: 'tag', tag, action: 'refused' });
        continue;
      }
      if (!bytes) {
        const m = await client.getManifest({ host: dst.host, repository: dst.repository, digest: src.digest });
        bytes = m.bytes;
        mediaType = m.mediaType;
      }
      if (deferred) {
        await this.putManifest(src.digest, bytes, mediaType, deferred, tag);
        deferred = undefined;
      } else {
        await client.putManifest(ref, bytes, mediaType);
      }
      this.result.tagsWritten.push(tag);
      this.progress({ kind: 'tag', tag, action: 'written' });
    }
    // Every tag already there or refused: the image is still copied by digest.
    if (deferred && bytes) await this.putManifest(src.digest, bytes, mediaType, deferred);
  }
}

function dedupe(ds: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return ds.filter((d) => !seen.has(d.digest) && (seen.add(d.digest), true));
}

/**
 * Copy the image (or index, with every child) `src.digest` to `dst`, then
 * write `tags`. A tag that already points at another digest is not moved: it
 * is reported in `tagMoves` and the other tags are still written.
 * Rerunning a completed copy only sends HEAD requests.
 */
export async function copyImage(client: RegistryClient, src: DigestRef, dst: RepositoryRef, opts: CopyOptions = {}): Promise<CopyResult> {
  const copier = new Copier(client, src, dst, opts);
  const top = await copier.manifest(src.digest, !!opts.tags?.length);
  copier.result.mediaType = top.mediaType;
  if (opts.tags?.length) await copier.tags(opts.tags, top);
  return copier.result;
}
