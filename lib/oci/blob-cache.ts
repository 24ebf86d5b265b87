// Which repositories on a registry host are known to hold which blobs, so a
// layer promoted to many repositories is uploaded once and mounted after.
// Lives as long as its owner (one per worker); correctness never depends on
// it: a stale entry costs a HEAD or a declined mount, nothing more.
import { OCI_EMPTY_DIGEST } from './media-types';

/** Who holds one blob on one host. */
interface Holders {
  /** The last few repositories seen with it: mount sources. */
  recent: string[];
  /** Every repository seen with it, for blobs every repository gets (see `everywhere`). */
  all?: Set<string>;
}

export class BlobCache {
  /** host -> digest -> holders */
  private readonly hosts = new Map<string, Map<string, Holders>>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly maxReposPerDigest = 16,
    /**
     * Blobs that end up in every repository: the OCI empty config of every signature and
     * referrer. A few mount sources would do for them too, but "is it already here?" must be
     * answered for every repository, else each signature mounts it again.
     */
    private readonly everywhere: ReadonlySet<string> = new Set([OCI_EMPTY_DIGEST]),
  ) {}

  has(host: string, repository: string, digest: string): boolean {
    const h = this.hosts.get(host)?.get(digest);
    if (!h) return false;
    return h.all ? h.all.has(repository) : h.recent.includes(repository);
  }

  add(host: string, repository: string, digest: string): void {
    let byDigest = this.hosts.get(host);
    if (!byDigest) this.hosts.set(host, (byDigest = new Map()));
    let h = byDigest.get(digest);
    if (!h) byDigest.set(digest, (h = { recent: [], ...(this.everywhere.has(digest) ? { all: new Set<string>() } : {}) }));
    if (this.has(host, repository, digest)) return;
    h.all?.add(repository);
    h.recent.push(repository);
    // Keep a bounded list: a few mount sources are all a copy needs.
    if (h.recent.length > this.maxReposPerDigest) h.recent.shift();
  }

  forget(host: string, repository: string, digest: string): void {
    const h = this.hosts.get(host)?.get(digest);
    if (!h) return;
    h.all?.delete(repository);
    const i = h.recent.indexOf(repository);
    if (i >= 0) h.recent.splice(i, 1);
  }

  /** Repositories on `host` known to hold `digest`, most recently seen first (a few). */
  reposWith(host: string, digest: string): string[] {
    return [...(this.hosts.get(host)?.get(digest)?.recent ?? [])].reverse();
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
