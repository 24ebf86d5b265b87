// What a caller hands the transport and gets back.
import type { AllowedHosts } from './allowed-hosts';
import type { CredentialStore } from './credentials';
import type { ReadLimits } from './defaults';
import type { RequestBody } from './exchange';
import type { Clock, RateLimitOptions } from './ratelimit';
import type { RetryOptions } from './retry';

export interface TransportOptions {
  credentials?: CredentialStore;
  /** Hosts ("host[:port]") that may be spoken to over plain HTTP (when they do not speak TLS) although not loopback. */
  insecureRegistries?: string[];
  /** Host globs the client may speak to (default: PROMOTER_ALLOWED_REGISTRIES; see allowed-hosts.ts). */
  allowedRegistries?: readonly string[] | AllowedHosts;
  /** certs.d folders with per-host CA roots and client certificates (default: PROMOTER_REGISTRY_CERTS_DIR, else the containers/Docker folders). */
  certsDirs?: string[];
  userAgent?: string;
  /** Idle timeout per request: no response headers / no body progress for this long aborts it. */
  timeoutMs?: number;
  limits?: RateLimitOptions;
  /** Retries; maxRetryAfterMs defaults to PROMOTER_MAX_RETRY_AFTER (seconds) when set. */
  retry?: Partial<RetryOptions>;
  readLimits?: Partial<ReadLimits>;
  clock?: Clock;
  random?: () => number;
}

export interface RequestSpec {
  /** Registry host as written in references: budgets, stats and auth key by it. */
  host: string;
  method: string;
  /** "/v2/..." path, or an absolute URL the registry gave us (Location, Link). */
  path: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes this request needs. */
  scopes: readonly string[];
  repository?: string;
  /** Names the call in errors, e.g. "HEAD manifest". */
  operation: string;
  /** Statuses handed back instead of thrown (besides 2xx). */
  accept?: readonly number[];
  /** 'manual': a redirect is handed back as it came. Default: followed by the redirect rules. */
  redirect?: 'follow' | 'manual';
  /** Most bytes of a 2xx body read into memory (default: readLimits.manifestBytes). */
  maxBodyBytes?: number;
}

export interface BufferedResponse {
  status: number;
  headers: Headers;
  url: string;
  body: Uint8Array;
}

export interface StreamResponse {
  status: number;
  headers: Headers;
  url: string;
  stream: ReadableStream<Uint8Array>;
}

/** The repository of a request, as error fields take it (absent when it has none). */
export const repoOf = (spec: RequestSpec): { repository?: string } => (spec.repository ? { repository: spec.repository } : {});
