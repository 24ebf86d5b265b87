// Manifests read by digest, kept for a while: a digest copied to twenty destinations is read from
// its source once, not twenty times. Content-addressed (the client verified each against its
// digest), so an entry can never be stale; an LRU bounded by bytes caps the memory.
import { LRUCache } from 'lru-cache';
import type { Manifest } from './client';
import { SingleFlight } from '../util/single-flight';
import { OCI_DEFAULTS } from './defaults';

export class ManifestCache {
  private readonly entries: LRUCache<string, Manifest>;
  private readonly reads = new SingleFlight<Manifest>();

  constructor(maxBytes: number = OCI_DEFAULTS.caches.manifestBytes) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (m, key) => m.bytes.length + key.length + 100 });
  }

  get size(): number {
    return this.entries.size;
  }

  get(host: string, repository: string, digest: string): Manifest | undefined {
    return this.entries.get(`${host}/${repository}@${digest}`);
  }

  /** The held manifest, else one `read` shared by every concurrent caller of this digest (then held). */
  async getOrRead(host: string, repository: string, digest: string, read: () => Promise<Manifest>): Promise<Manifest> {
    return (
      this.get(host, repository, digest) ??
      this.reads.run(`${host}/${repository}@${digest}`, async () => {
        const m = await read();
        this.set(host, repository, m);
        return m;
      })
    );
  }

  set(host: string, repository: string, m: Manifest): void {
    this.entries.set(`${host}/${repository}@${m.digest}`, m);
  }
}
