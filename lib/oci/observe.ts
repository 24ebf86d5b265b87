// Watching the transport: request counts per host (the report's and the bench's figures) and a
// listener per HTTP exchange (metrics, benchmarks, tracing). Every exchange counts: each attempt,
// each auth round, each redirect hop and each token request.
import { parseRetryAfter } from './ratelimit';

interface HostStats {
  total: number;
  byMethod: Record<string, number>;
  retries: number;
  throttled: number;
}

export type RequestStats = Record<string, HostStats>;

/** One HTTP exchange with a registry (or its token realm), for whoever observes the transport (metrics, benchmarks). */
export interface RequestEvent {
  host: string;
  method: string;
  /** What the call was for, e.g. "HEAD manifest", "list tags", "token request". */
  operation: string;
  path: string;
  /** The HTTP status, or 0 when no response came (network error, timeout, refused host). */
  status: number;
  durationMs: number;
  /** A 429 or 503 that asked for a pause: how long it asked for. */
  retryAfterMs?: number;
}

export type RequestListener = (e: RequestEvent) => void;

export interface ExchangeLabel {
  /** The host the exchange is counted under: the registry's, or the token realm's. */
  host: string;
  method: string;
  operation: string;
  path: string;
}

export class TransportObserver {
  private readonly counters: RequestStats = {};
  private readonly listeners = new Set<RequestListener>();

  constructor(private readonly now: () => number) {}

  stats(): RequestStats {
    return structuredClone(this.counters);
  }

  /** Calls `listener` after every HTTP exchange. Returns the unsubscribe. */
  onRequest(listener: RequestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An exchange is leaving: counted now, reported by the returned function once it is answered (or failed). */
  started(label: ExchangeLabel, repeat: boolean): (status: number, headers?: Headers) => void {
    const s = (this.counters[label.host] ??= { total: 0, byMethod: {}, retries: 0, throttled: 0 });
    s.total++;
    s.byMethod[label.method] = (s.byMethod[label.method] ?? 0) + 1;
    if (repeat) s.retries++;
    const startedAt = this.now();
    return (status, headers) => {
      if (status === 429) s.throttled++;
      if (this.listeners.size === 0) return;
      const e: RequestEvent = { ...label, status, durationMs: this.now() - startedAt };
      if (status === 429 || status === 503) {
        const retryAfterMs = parseRetryAfter(headers?.get('retry-after'), this.now());
        if (retryAfterMs !== undefined) e.retryAfterMs = retryAfterMs;
      }
      for (const l of this.listeners) l(e);
    };
  }
}
