// HTTP transport for registry calls: scheme choice (HTTPS; loopback hosts and
// hosts configured insecure fall back to plain HTTP only when they do not speak
// TLS at all), per-host TLS trust (certs.d), auth handshakes, per-host budgets,
// Retry-After, bounded retries with jittered backoff, idle timeouts and request
// counting.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { Agent, fetch, interceptors, type Dispatcher } from 'undici';
import { bufferedRequest } from './buffered-request';
import { Authenticator } from './auth';
import { OCI_DEFAULTS } from './defaults';
import { AnonymousCredentialStore, type CredentialStore } from './credentials';
import { errorFromResponse, OciError } from './errors';
import { parseWwwAuthenticate } from './headers';
import { backoffDelay, parseRetryAfter, RateLimiter, realClock, type Clock, type RateLimitOptions } from './ratelimit';
import { apiHost, isLoopbackHost } from './reference';
import { streamRequest, type HttpResponse } from './stream-request';
import { certificateError, certsDirsFromEnv, loadHostTls, probeTls, type HostTls } from './tls';

const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
export const USER_AGENT = `promoter/${pkg.version ?? '0.0.0'}`;

export interface RetryOptions {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out inside one call: the error goes to the caller (still retryable). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryOptions = OCI_DEFAULTS.retry;

export interface TransportOptions {
  credentials?: CredentialStore;
  /** Hosts ("host[:port]") that may be spoken to over plain HTTP (when they do not speak TLS) although not loopback. */
  insecureRegistries?: string[];
  /** certs.d folders with per-host CA roots and client certificates (default: PROMOTER_REGISTRY_CERTS_DIR, else the containers/Docker folders). */
  certsDirs?: string[];
  userAgent?: string;
  /** Idle timeout per request: no response headers / no body progress for this long aborts it. */
  timeoutMs?: number;
  limits?: RateLimitOptions;
  retry?: Partial<RetryOptions>;
  clock?: Clock;
  random?: () => number;
}

export type RequestBody = Uint8Array | string | ReadableStream<Uint8Array>;

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
  redirect?: 'follow' | 'manual';
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

export interface HostStats {
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
  /** The HTTP status, or 0 when no response came (network error, timeout). */
  status: number;
  durationMs: number;
  /** A 429 or 503 that asked for a pause: how long (the host waits that long). */
  retryAfterMs?: number;
}

export type RequestListener = (e: RequestEvent) => void;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

function isReplayable(body: RequestBody | undefined): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/** Aborts after `ms` without progress; touch() restarts the clock. */
class IdleTimer {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  timedOut = false;
  constructor(private readonly ms: number) {
    this.touch();
  }
  touch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error('idle timeout'));
    }, this.ms);
    this.timer.unref();
  }
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function tap(stream: ReadableStream<Uint8Array>, onChunk: () => void, onEnd: () => void): ReadableStream<Uint8Array> {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        onChunk();
        ctl.enqueue(chunk);
      },
      flush() {
        onEnd();
      },
    }),
  );
}

export class Transport {
  readonly userAgent: string;
  private readonly insecure: Set<string>;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly auth: Authenticator;
  private readonly certsDirs: string[];
  /** Per API host: its TLS settings and the connection pools that use them. */
  private readonly connections = new Map<string, { tls: HostTls; dispatcher: Agent; following: Dispatcher; agents: { http: HttpAgent; https: HttpsAgent } }>();
  /** Per API host that may speak plain HTTP: what its first TLS handshake found (a pending probe while unknown). */
  private readonly schemes = new Map<string, Promise<'https' | 'http'>>();
  private counters: RequestStats = {};
  private readonly listeners = new Set<RequestListener>();

  constructor(opts: TransportOptions = {}) {
    this.userAgent = opts.userAgent ?? USER_AGENT;
    this.insecure = new Set((opts.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.certsDirs = opts.certsDirs ?? certsDirsFromEnv();
    this.timeoutMs = opts.timeoutMs ?? OCI_DEFAULTS.timeoutMs;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.limiter = new RateLimiter(opts.limits, this.clock);
    this.auth = new Authenticator({
      credentials: opts.credentials ?? new AnonymousCredentialStore(),
      allowHttp: (h) => this.allowHttp(h),
      userAgent: this.userAgent,
      now: () => this.clock.now(),
      tokenFetch: (url, init) => this.tokenFetch(url, init),
    });
  }

  allowHttp(host: string): boolean {
    return isLoopbackHost(host) || this.insecure.has(host.toLowerCase());
  }

  /**
   * HTTPS, always, except for a host that may speak plain HTTP (loopback, or configured insecure)
   * and whose server does not speak TLS at all, like go-containerregistry does. The first call
   * for such a host opens one TLS connection to find out; the answer is kept for the transport's
   * life. A certificate the client refuses never falls back: it throws a TLS OciError.
   */
  async schemeFor(host: string): Promise<'https' | 'http'> {
    const target = apiHost(host).toLowerCase();
    if (!this.allowHttp(target)) return 'https';
    let known = this.schemes.get(target);
    if (!known) {
      known = probeTls(target, this.connectionsFor(target).tls, Math.min(this.timeoutMs, 10_000)).then((found) => (found === 'tls' ? 'https' : 'http'));
      this.schemes.set(target, known);
      // A failed probe (refused connection, timeout) is not an answer: ask again next time.
      known.catch(() => this.schemes.delete(target));
    }
    return known;
  }

  async baseUrl(host: string): Promise<string> {
    return `${await this.schemeFor(host)}://${apiHost(host)}`;
  }

  /** Connection pools of one host: undici for buffered requests, node:http(s) for streamed uploads, both with its certs.d trust. */
  private connectionsFor(host: string) {
    const key = host.toLowerCase();
    let entry = this.connections.get(key);
    if (!entry) {
      const tls = loadHostTls(key, this.certsDirs);
      const connect = { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) };
      const dispatcher = new Agent({ connect });
      // Same pool, following redirects (what fetch's redirect: 'follow' did).
      const following = dispatcher.compose(interceptors.redirect({ maxRedirections: 10 }));
      entry = { tls, dispatcher, following, agents: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ...connect }) } };
      this.connections.set(key, entry);
    }
    return entry;
  }

  /** Closes every pooled connection (idle keep-alive sockets otherwise linger until they time out). */
  async close(): Promise<void> {
    const entries = [...this.connections.values()];
    this.connections.clear();
    for (const e of entries) for (const a of Object.values(e.agents)) a.destroy();
    await Promise.all(entries.map((e) => e.dispatcher.close()));
  }

  stats(): RequestStats {
    return structuredClone(this.counters);
  }

  resetStats(): void {
    this.counters = {};
  }

  /** The part of every registry's budget this client may use: 1/N when N workers share the registries. */
  setBudgetShare(share: number): void {
    this.limiter.setShare(share);
  }

  /** The budget of one host, e.g. to inspect or pause it. */
  limiterFor(host: string) {
    return this.limiter.forHost(host);
  }

  /** Calls `listener` after every HTTP exchange (each attempt and auth round counts). Returns the unsubscribe. */
  onRequest(listener: RequestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(spec: { host: string; method: string; operation: string; path: string }, status: number, startedAt: number, headers?: Headers): void {
    if (this.listeners.size === 0) return;
    const e: RequestEvent = { host: spec.host, method: spec.method, operation: spec.operation, path: spec.path, status, durationMs: this.clock.now() - startedAt };
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(headers?.get('retry-after'), this.clock.now());
      if (retryAfterMs !== undefined) e.retryAfterMs = retryAfterMs;
    }
    for (const l of this.listeners) l(e);
  }

  private count(host: string, method: string): HostStats {
    const s = (this.counters[host] ??= { total: 0, byMethod: {}, retries: 0, throttled: 0 });
    s.total++;
    s.byMethod[method] = (s.byMethod[method] ?? 0) + 1;
    return s;
  }

  private async resolveUrl(spec: RequestSpec): Promise<URL> {
    const url = new URL(spec.path, await this.baseUrl(spec.host));
    if (url.protocol === 'http:' && !this.allowHttp(url.host)) {
      throw new OciError({ code: 'INSECURE', registry: spec.host, message: `refusing plain HTTP to ${url.host}: not loopback and not configured insecure` });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OciError({ code: 'INVALID_RESPONSE', registry: spec.host, message: `unsupported URL scheme ${url.protocol} from ${spec.host}` });
    }
    return url;
  }

  /** A request whose response body is read into memory (manifests, tag lists, errors). */
  async request(spec: RequestSpec): Promise<BufferedResponse> {
    const r = await this.send(spec, false);
    return r as BufferedResponse;
  }

  /** A request whose 2xx response body is handed back as a stream (blobs); the idle timeout follows the reading. */
  async requestStream(spec: RequestSpec): Promise<StreamResponse> {
    const r = await this.send(spec, true);
    return r as StreamResponse;
  }

  /** A connection failed or stalled: wait out the backoff before the next attempt, or throw the error. */
  private async backOffAfterNetworkError(e: unknown, timedOut: boolean, spec: RequestSpec, attempt: number, maxAttempts: number): Promise<void> {
    const err = this.networkError(e, timedOut, spec);
    if (!err.retryable || attempt >= maxAttempts) throw err;
    await this.clock.sleep(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random));
  }

  private async send(spec: RequestSpec, streamResponse: boolean): Promise<BufferedResponse | StreamResponse> {
    const replayable = isReplayable(spec.body);
    const maxAttempts = replayable ? this.retry.maxAttempts : 1;
    const limiter = this.limiter.forHost(spec.host);
    let authRounds = 0;
    let attempt = 0;
    for (;;) {
      attempt++;
      let url: URL;
      try {
        url = await this.resolveUrl(spec);
      } catch (e) {
        await this.backOffAfterNetworkError(e, false, spec, attempt, maxAttempts); // throws when out of attempts
        continue;
      }
      const pools = this.connectionsFor(url.host);
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...spec.headers };
      const authz = await this.auth.authorization(spec.host, spec.scopes);
      if (authz) headers.Authorization = authz;

      const release = await limiter.acquire();
      const stats = this.count(spec.host, spec.method);
      if (attempt > 1 || authRounds > 0) stats.retries++;
      const timer = new IdleTimer(this.timeoutMs);
      const body = spec.body instanceof ReadableStream ? tap(spec.body, () => timer.touch(), () => timer.touch()) : spec.body;

      let res: HttpResponse;
      const sentAt = this.clock.now();
      try {
        res =
          body instanceof ReadableStream
            ? await streamRequest(url, { method: spec.method, headers, body, signal: timer.controller.signal, agents: pools.agents })
            : await bufferedRequest(spec.redirect === 'manual' ? pools.dispatcher : pools.following, url, { method: spec.method, headers, ...(body !== undefined ? { body } : {}), signal: timer.controller.signal });
        this.emit(spec, res.status, sentAt, res.headers);
      } catch (e) {
        this.emit(spec, 0, sentAt);
        timer.clear();
        release();
        await this.backOffAfterNetworkError(e, timer.timedOut, spec, attempt, maxAttempts); // throws when out of attempts
        continue;
      }

      const ok = (res.status >= 200 && res.status < 300) || (spec.accept?.includes(res.status) ?? false);
      if (ok && streamResponse && res.status >= 200 && res.status < 300 && res.body) {
        // The slot is freed once headers arrive: a reader that stalls must not hold the host's budget.
        release();
        timer.touch();
        const stream = tap(res.body, () => timer.touch(), () => timer.clear());
        return { status: res.status, headers: res.headers, url: res.url, stream };
      }

      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        timer.clear();
        release();
        await this.backOffAfterNetworkError(e, timer.timedOut, spec, attempt, maxAttempts); // throws when out of attempts
        continue;
      } finally {
        timer.clear();
      }
      release();

      if (ok) return { status: res.status, headers: res.headers, url: res.url, body: bytes };

      if (res.status === 401) {
        const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
        // Round 1 learns the challenge (or a token expired early); round 2 has fresh credentials. Beyond that: refused.
        if (authRounds < 2 && this.auth.onUnauthorized(spec.host, spec.scopes, challenges)) {
          authRounds++;
          attempt--;
          if (replayable) continue;
          throw new OciError({ code: 'UNAUTHORIZED', status: 401, retryable: true, registry: spec.host, ...(spec.repository ? { repository: spec.repository } : {}), message: `${spec.operation} on ${spec.host} needs authentication; retry with the new credentials` });
        }
      }

      const text = new TextDecoder().decode(bytes);
      const err = errorFromResponse(res.status, text, { registry: spec.host, operation: spec.operation, ...(spec.repository ? { repository: spec.repository } : {}) });
      if (RETRYABLE_STATUS.has(res.status)) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
        if (res.status === 429) stats.throttled++;
        if (retryAfter !== undefined && (res.status === 429 || res.status === 503)) {
          // Pause the whole host: no request to it leaves before the registry said so.
          limiter.bucket.pauseUntil(this.clock.now() + retryAfter);
          if (retryAfter > this.retry.maxRetryAfterMs) {
            throw new OciError({ code: err.code, status: err.status, retryable: true, registry: spec.host, ...(spec.repository ? { repository: spec.repository } : {}), retryAfterMs: retryAfter, message: `${err.message} (asked to wait ${Math.ceil(retryAfter / 1000)} s)` });
          }
          if (attempt < maxAttempts) continue; // the bucket makes us wait
        } else if (attempt < maxAttempts) {
          await this.clock.sleep(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random));
          continue;
        }
      }
      throw err;
    }
  }

  private networkError(e: unknown, timedOut: boolean, spec: RequestSpec): OciError {
    const base = { registry: spec.host, ...(spec.repository ? { repository: spec.repository } : {}) };
    if (timedOut) {
      return new OciError({ ...base, code: 'TIMEOUT', retryable: true, message: `${spec.operation} on ${spec.host} timed out after ${this.timeoutMs} ms without progress` });
    }
    if (e instanceof OciError) return e;
    const refused = certificateError(e, spec.host, this.connections.get(apiHost(spec.host).toLowerCase())?.tls);
    if (refused) return refused;
    // fetch wraps the socket error in `cause`; node:http hands it over directly.
    const cause = (e as { cause?: { code?: string } }).cause;
    const what = cause?.code ?? (e as { code?: string }).code ?? (e as Error).name ?? 'error';
    return new OciError({ ...base, code: 'NETWORK', retryable: true, message: `${spec.operation} on ${spec.host} failed: ${what}` });
  }

  private async tokenFetch(url: string, init: RequestInit): Promise<{ status: number; body: string }> {
    const u = new URL(url);
    const host = u.host;
    const limiter = this.limiter.forHost(host);
    let attempt = 0;
    for (;;) {
      attempt++;
      const release = await limiter.acquire();
      const stats = this.count(host, init.method ?? 'GET');
      if (attempt > 1) stats.retries++;
      const timer = new IdleTimer(this.timeoutMs);
      const event = { host, method: init.method ?? 'GET', operation: 'token request', path: u.pathname };
      const sentAt = this.clock.now();
      try {
        const res = await fetch(url, { ...(init as Parameters<typeof fetch>[1]), signal: timer.controller.signal, redirect: 'error', dispatcher: this.connectionsFor(host).dispatcher }).catch((e: unknown) => {
          this.emit(event, 0, sentAt);
          throw e;
        });
        this.emit(event, res.status, sentAt, res.headers);
        const body = await res.text();
        if (RETRYABLE_STATUS.has(res.status) && attempt < this.retry.maxAttempts) {
          const ra = parseRetryAfter(res.headers.get('retry-after'), this.clock.now());
          if (ra !== undefined) limiter.bucket.pauseUntil(this.clock.now() + Math.min(ra, this.retry.maxRetryAfterMs));
          else await this.clock.sleep(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random));
          continue;
        }
        return { status: res.status, body };
      } catch (e) {
        const refused = certificateError(e, host, this.connectionsFor(host).tls);
        if (refused) throw refused;
        if (attempt < this.retry.maxAttempts) {
          await this.clock.sleep(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random));
          continue;
        }
        const err = this.networkError(e, timer.timedOut, { host, method: 'GET', path: '', scopes: [], operation: 'token request' });
        throw err;
      } finally {
        timer.clear();
        release();
      }
    }
  }
}
