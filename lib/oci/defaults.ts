// Every tunable default of the OCI client in one place. Modules take their defaults from here and
// callers override per client (lib/config.ts maps the worker's environment onto the host limits).

const MiB = 1024 * 1024;

export const OCI_DEFAULTS = {
  /**
   * Budget per registry host. Artifact Registry allows ~1000 requests/s per project and region, Docker
   * Hub far less: 429s with Retry-After slow a host down further on their own.
   */
  hostLimits: { requestsPerSecond: 200, burst: 400, concurrency: 16 },
  /**
   * Attempts per request (the first included) and their backoff. A Retry-After up to
   * maxRetryAfterMs pauses the host and is waited out; a longer one pauses the host for
   * maxRetryAfterMs only and fails the request (retryably), so one registry cannot freeze a
   * worker for a day (PROMOTER_MAX_RETRY_AFTER, seconds).
   */
  retry: { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 10 * 60_000 },
  /** Idle timeout per request: no response headers / no body progress for this long aborts it. */
  timeoutMs: 60_000,
  /**
   * What a registry's answer may make us hold in memory. Over a limit the answer is refused
   * (TOO_LARGE, not retried) after reading at most one byte past it; a Content-Length over it
   * is refused before reading anything.
   */
  readLimits: {
    /** A manifest or index: distribution's own limit. Also any other JSON answer (referrers). */
    manifestBytes: 4 * MiB,
    /** A blob read whole (configs, signature payloads, attestations); larger ones are streamed. */
    blobBytes: 16 * MiB,
    /** A token server's answer. */
    tokenBytes: 1 * MiB,
    /** The body of an error answer: beyond this it is not read, the status alone describes it. */
    errorBytes: 1 * MiB,
    /** One repository's tag listing, all pages together. */
    tagPages: 10_000,
    tagListBytes: 64 * MiB,
  },
  /** Distinct hosts whose connection pools (and TLS settings) are kept; the least recently used close. */
  maxPooledHosts: 256,
  /** Bearer tokens kept (each until shortly before it expires) and hosts whose auth challenge is kept. */
  auth: { maxTokens: 4096, maxChallenges: 1024, maxTokenLifetimeMs: 24 * 3600_000 },
  /** Streamed blobs go up in PATCH chunks of this size; small ones in one monolithic PUT. */
  upload: { chunkSize: 16 * MiB, monolithicMaxBytes: 1 * MiB },
  /** Tags asked for per tags/list page (registries may answer with fewer and a Link header). */
  tagsPageSize: 1000,
  /** Blobs (and index children) transferred at once within one image copy. */
  copyConcurrency: 4,
  /** Whole-blob attempts for streamed uploads (a stream cannot be replayed per request). */
  blobAttempts: 3,
  /** Worker caches, bounded by size; least recently used entries go first. */
  caches: {
    /** Source manifests held for the other destinations of a digest. */
    manifestBytes: 64 * MiB,
    /** Small source blobs held for the other registry hosts, and the largest one held. */
    blobBytes: 64 * MiB,
    maxHeldBlobBytes: 1 * MiB,
    /** Which repositories hold which blobs (mount sources): roughly this much memory. */
    blobLocationBytes: 64 * MiB,
  },
} as const;

export type ReadLimits = { -readonly [K in keyof typeof OCI_DEFAULTS.readLimits]: number };
