// Small blobs held in memory for a while: a config or a thin layer copied to six registry hosts is
// read from its source once, not six times. Content-addressed (every entry was verified against its
// digest when read), so an entry is never stale; the total size is bounded (least recently used go).
export class BlobBytes {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(
    /** Blobs larger than this are streamed, never held. */
    readonly maxBlobBytes = 1024 * 1024,
    private readonly maxTotalBytes = 64 * 1024 * 1024,
  ) {}

  get(digest: string): Uint8Array | undefined {
    const b = this.entries.get(digest);
    if (b) {
      this.entries.delete(digest);
      this.entries.set(digest, b);
    }
    return b;
  }

  set(digest: string, bytes: Uint8Array): void {
    if (bytes.length > this.maxBlobBytes || this.entries.has(digest)) return;
    this.entries.set(digest, bytes);
    this.bytes += bytes.length;
    for (const [d, b] of this.entries) {
      if (this.bytes <= this.maxTotalBytes) break;
      this.entries.delete(d);
      this.bytes -= b.length;
    }
  }
}
