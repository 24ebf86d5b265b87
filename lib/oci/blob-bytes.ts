// Small blobs held in memory for a while: a config or a thin layer copied to six registry hosts is
// read from its source once, not six times. Content-addressed (every entry was verified against its
// digest when read), so an entry is never stale; the total size is bounded (least recently used go).
import { LRUCache } from 'lru-cache';
import { OCI_DEFAULTS } from './defaults';

export class BlobBytes {
  private readonly entries: LRUCache<string, Uint8Array>;

  constructor(
    /** Blobs larger than this are streamed, never held. */
    readonly maxBlobBytes: number = OCI_DEFAULTS.caches.maxHeldBlobBytes,
    maxTotalBytes: number = OCI_DEFAULTS.caches.blobBytes,
  ) {
    this.entries = new LRUCache({ maxSize: maxTotalBytes, sizeCalculation: (b) => Math.max(1, b.length) });
  }

  get(digest: string): Uint8Array | undefined {
    return this.entries.get(digest);
  }

  set(digest: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBlobBytes || this.entries.has(digest)) return;
    this.entries.set(digest, bytes);
  }
}
