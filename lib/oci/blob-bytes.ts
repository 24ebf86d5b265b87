// Small blobs held in memory for a while: a config or a thin layer copied to six registry hosts is
// read from its source once, not six times. Content-addressed (every entry was verified against its
// digest when read), so an entry is never stale; the total size is bounded (least recently used go).
import { LRUCache } from 'lru-cache';
import { SingleFlight } from '../util/single-flight';
import { OCI_DEFAULTS } from './defaults';

export class BlobBytes {
  private readonly entries: LRUCache<string, Uint8Array>;
  private readonly reads = new SingleFlight<Uint8Array>();

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

  /** The held bytes, else one `read` shared by every concurrent caller of this digest (then held). */
  async getOrRead(digest: string, read: () => Promise<Uint8Array>): Promise<Uint8Array> {
    return (
      this.get(digest) ??
      this.reads.run(digest, async () => {
        const bytes = await read();
        this.set(digest, bytes);
        return bytes;
      })
    );
  }

  set(digest: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBlobBytes || this.entries.has(digest)) return;
    this.entries.set(digest, bytes);
  }
}
