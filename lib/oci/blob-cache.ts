// Which repositories on a registry host are known to hold which blobs, so a
// layer promoted to many repositories is uploaded once and mounted after.
// Lives as long as its owner (one per worker), bounded in memory: the least
// recently used blobs are forgotten first. Correctness never depends on it: a
// stale or forgotten entry costs a HEAD or a declined mount, nothing more.
import { LRUCache } from 'lru-cache';
import { OCI_DEFAULTS } from './defaults';
import { OCI_EMPTY_DIGEST } from './media-types';

/** Who holds one blob on one host. */
interface Holders {
  /** The last few repositories seen with it: mount sources. */
  recent: string[];
  /** Every repository seen with it, for blobs every repository gets (see `everywhere`). */
  all?: Set<string>;
  /** Approximate bytes this entry holds (names and bookkeeping). */
  bytes: number;
}

/** Per entry and per repository name held: what a Map slot, a string and an array slot cost, roughly. */
const ENTRY_OVERHEAD = 200;
const NAME_OVERHEAD = 50;

export class BlobCache {
  /** "host|digest" -> holders */
  private readonly entries: LRUCache<string, Holders>;
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly maxReposPerDigest = 16,
    /**
     * Blobs that end up in every repository: the OCI empty config of every signature and
     * referrer. A few mount sources would do for them too, but "is it already here?" must be
     * answered for every repository, else each signature mounts it again.
     */
    private readonly everywhere: ReadonlySet<string> = new Set([OCI_EMPTY_DIGEST]),
    /** Roughly how much memory the cache may take. */
    maxBytes: number = OCI_DEFAULTS.caches.blobLocationBytes,
  ) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (h) => h.bytes });
  }

  /** Blobs (per host) remembered now. */
  get size(): number {
    return this.entries.size;
  }

  has(host: string, repository: string, digest: string): boolean {
    const h = this.entries.get(`${host}|${digest}`);
    if (!h) return false;
    return h.all ? h.all.has(repository) : h.recent.includes(repository);
  }

  add(host: string, repository: string, digest: string): void {
    const key = `${host}|${digest}`;
    let h = this.entries.get(key);
    if (h && (h.all ? h.all.has(repository) : h.recent.includes(repository))) return;
    h ??= { recent: [], ...(this.everywhere.has(digest) ? { all: new Set<string>() } : {}), bytes: ENTRY_OVERHEAD + key.length };
    if (h.all && !h.all.has(repository)) {
      h.all.add(repository);
      h.bytes += repository.length + NAME_OVERHEAD;
    }
    h.recent.push(repository);
    h.bytes += repository.length + NAME_OVERHEAD;
    // Keep a bounded list: a few mount sources are all a copy needs.
    if (h.recent.length > this.maxReposPerDigest) h.bytes -= h.recent.shift()!.length + NAME_OVERHEAD;
    this.entries.set(key, h); // again, so the cache counts its new size
  }

  forget(host: string, repository: string, digest: string): void {
    const h = this.entries.get(`${host}|${digest}`);
    if (!h) return;
    if (h.all?.delete(repository)) h.bytes -= repository.length + NAME_OVERHEAD;
    const i = h.recent.indexOf(repository);
    if (i >= 0) {
      h.recent.splice(i, 1);
      h.bytes -= repository.length + NAME_OVERHEAD;
    }
  }

  /** Repositories on `host` known to hold `digest`, most recently seen first (a few). */
  reposWith(host: string, digest: string): string[] {
    return [...(this.entries.get(`${host}|${digest}`)?.recent ?? [])].reverse();
  }

  /**
   * Run `fn` as the only transfer of `digest` to `host` at a time: concurrent
   * copies of a shared layer wait for the first upload, then mount it.
   */
  async exclusive<T>(host: string, digest: string, fn: () => Promise<T>): Promise<T> {
    const key = `${host}|${digest}`;
    for (;;) {
      const running = this.inflight.get(key);
      if (!running) break;
      await running.catch(() => undefined);
    }
    let done!: () => void;
    const p = new Promise<void>((r) => (done = r));
    this.inflight.set(key, p);
    try {
      return await fn();
    } finally {
      this.inflight.delete(key);
      done();
    }
  }
}
