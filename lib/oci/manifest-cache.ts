// Manifests read by digest, kept for a while: a digest copied to twenty destinations is read from
// its source once, not twenty times. Content-addressed (the client verified each against its
// digest), so an entry can never be stale; a small LRU bounds the memory.
import type { Manifest } from './client';

export class ManifestCache {
  private readonly entries = new Map<string, Manifest>();

  constructor(private readonly maxEntries = 1024) {}

  get(host: string, repository: string, digest: string): Manifest | undefined {
    const key = `${host}/${repository}@${digest}`;
    const m = this.entries.get(key);
    if (m) {
      this.entries.delete(key); // most recently used last
      this.entries.set(key, m);
    }
    return m;
  }

  set(host: string, repository: string, m: Manifest): void {
    const key = `${host}/${repository}@${m.digest}`;
    this.entries.delete(key);
    this.entries.set(key, m);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
