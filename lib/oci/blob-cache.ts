// Which repositories on a registry host are known to hold which blobs, so a
// layer promoted to many repositories is uploaded once and mounted after.
// Lives as long as its owner (one per worker); correctness never depends on
// it: a stale entry costs a HEAD or a declined mount, nothing more.

export class BlobCache {
  /** host -> digest -> repositories (most recent last) */
  private readonly hosts = new Map<string, Map<string, string[]>>();
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(private readonly maxReposPerDigest = 16) {}

  has(host: string, repository: string, digest: string): boolean {
    return this.hosts.get(host)?.get(digest)?.includes(repository) ?? false;
  }

  add(host: string, repository: string, digest: string): void {
    let byDigest = this.hosts.get(host);
    if (!byDigest) this.hosts.set(host, (byDigest = new Map()));
    const repos = byDigest.get(digest) ?? [];
    if (repos.includes(repository)) return;
    repos.push(repository);
    // Keep a bounded set: a few mount sources are all a copy needs.
    if (repos.length > this.maxReposPerDigest) repos.shift();
    byDigest.set(digest, repos);
  }

  forget(host: string, repository: string, digest: string): void {
    const repos = this.hosts.get(host)?.get(digest);
    if (!repos) return;
    const i = repos.indexOf(repository);
    if (i >= 0) repos.splice(i, 1);
  }

  /** Repositories on `host` known to hold `digest`, most recently seen first. */
  reposWith(host: string, digest: string): string[] {
    return [...(this.hosts.get(host)?.get(digest) ?? [])].reverse();
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
