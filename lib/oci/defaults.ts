// Every tunable default of the OCI client in one place. Modules take their defaults from here and
// callers override per client (lib/config.ts maps the worker's environment onto the host limits).

export const OCI_DEFAULTS = {
  /**
   * Budget per registry host. Artifact Registry allows ~1000 requests/s per project and region, Docker
   * Hub far less: 429s with Retry-After slow a host down further on their own.
   */
  hostLimits: { requestsPerSecond: 200, burst: 400, concurrency: 16 },
  /** Attempts per request (the first included) and their backoff; longer Retry-Afters go back to the caller. */
  retry: { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 },
  /** Idle timeout per request: no response headers / no body progress for this long aborts it. */
  timeoutMs: 60_000,
  /** Streamed blobs go up in PATCH chunks of this size; small ones in one monolithic PUT. */
  upload: { chunkSize: 16 * 1024 * 1024, monolithicMaxBytes: 1024 * 1024 },
  /** Tags asked for per tags/list page (registries may answer with fewer and a Link header). */
  tagsPageSize: 1000,
  /** Blobs (and index children) transferred at once within one image copy. */
  copyConcurrency: 4,
  /** Whole-blob attempts for streamed uploads (a stream cannot be replayed per request). */
  blobAttempts: 3,
} as const;
