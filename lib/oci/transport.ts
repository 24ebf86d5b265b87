// HTTP transport for registry calls, composed of one layer per concern, outermost first:
//   auth         Basic / Bearer for the registry's own host only; a 401 from it learns the challenge (auth.ts)
//   retries      one loop and one Retry-After policy for registry and token requests (retry.ts)
//   redirects    which hops are followed, and which carry credentials (redirects.ts)
//   exchange     allowed hosts, scheme rule, budget, pools, idle timeout, read limits (exchange.ts)
// beside them: connection pools and the scheme probe (connections.ts), observation (observe.ts).
import { createRequire } from 'node:module';
import { AllowedHosts } from './allowed-hosts';
import { Authenticator, type TokenRequestInit } from './auth';
import { Connections } from './connections';
import { AnonymousCredentialStore } from './credentials';
import { OCI_DEFAULTS, type ReadLimits } from './defaults';
import { errorFromResponse, OciError } from './errors';
import { Exchange, type Answer, type ExchangeContext } from './exchange';
import { parseWwwAuthenticate } from './headers';
import { TransportObserver, type RequestListener, type RequestStats } from './observe';
import { RateLimiter, realClock } from './ratelimit';
import { isRedirect, nextHop, startChain } from './redirects';
import { apiHost, isLoopbackHost } from './reference';
import { repoOf, type BufferedResponse, type RequestSpec, type StreamResponse, type TransportOptions } from './request';
import { maxRetryAfterFromEnv, RetryPolicy } from './retry';
import { certsDirsFromEnv } from './tls';

export type { RequestEvent, RequestListener, RequestStats } from './observe';
export type { BufferedResponse, RequestSpec, StreamResponse, TransportOptions } from './request';

const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
export const USER_AGENT = `promoter/${pkg.version ?? '0.0.0'}`;

export class Transport {
  readonly userAgent: string;
  readonly hosts: AllowedHosts;
  readonly readLimits: ReadLimits;
  private readonly insecure: Set<string>;
  private readonly limiter: RateLimiter;
  private readonly retries: RetryPolicy;
  private readonly connections: Connections;
  private readonly observer: TransportObserver;
  private readonly exchange: Exchange;
  private readonly auth: Authenticator;

  constructor(opts: TransportOptions = {}) {
    const clock = opts.clock ?? realClock;
    const timeoutMs = opts.timeoutMs ?? OCI_DEFAULTS.timeoutMs;
    const allowHttp = (h: string) => this.allowHttp(h);
    this.userAgent = opts.userAgent ?? USER_AGENT;
    this.insecure = new Set((opts.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    const allowed = opts.allowedRegistries;
    this.hosts = allowed instanceof AllowedHosts ? allowed : allowed ? new AllowedHosts(allowed) : AllowedHosts.fromEnv();
    this.readLimits = { ...OCI_DEFAULTS.readLimits, ...opts.readLimits };
    const fromEnv = maxRetryAfterFromEnv();
    this.retries = new RetryPolicy({ ...(fromEnv !== undefined ? { maxRetryAfterMs: fromEnv } : {}), ...opts.retry }, clock, opts.random);
    this.limiter = new RateLimiter(opts.limits, clock);
    const certsDirs = opts.certsDirs ?? certsDirsFromEnv();
    this.connections = new Connections({ certsDirs, hosts: this.hosts, allowHttp, probeTimeoutMs: Math.min(timeoutMs, 10_000) });
    this.observer = new TransportObserver(() => clock.now());
    this.exchange = new Exchange({ hosts: this.hosts, connections: this.connections, observer: this.observer, allowHttp, timeoutMs });
    const credentials = opts.credentials ?? new AnonymousCredentialStore();
    const tokenFetch = (url: URL, init: TokenRequestInit, registry: string) => this.tokenFetch(url, init, registry);
    this.auth = new Authenticator({ credentials, allowHttp, userAgent: this.userAgent, now: () => clock.now(), tokenFetch });
  }

  allowHttp(host: string): boolean {
    return isLoopbackHost(host) || this.insecure.has(host.toLowerCase());
  }

  /** HTTPS, except for a loopback or insecure host that does not speak TLS (see Connections.schemeFor). */
  schemeFor(host: string): Promise<'https' | 'http'> {
    return this.connections.schemeFor(host);
  }

  async baseUrl(host: string): Promise<string> {
    return `${await this.schemeFor(host)}://${apiHost(host)}`;
  }

  /** Closes every pooled connection (idle keep-alive sockets otherwise linger until they time out). */
  close(): Promise<void> {
    return this.connections.close();
  }

  /** Requests sent per host and method since this transport was made. */
  stats(): RequestStats {
    return this.observer.stats();
  }

  /** Calls `listener` after every HTTP exchange (each attempt, auth round, redirect hop and token request). Returns the unsubscribe. */
  onRequest(listener: RequestListener): () => void {
    return this.observer.onRequest(listener);
  }

  /** The part of every registry's budget this client may use: 1/N when N workers share the registries. */
  setBudgetShare(share: number): void {
    this.limiter.setShare(share);
  }

  /** A request whose response body is read into memory (manifests, tag lists, errors), within its limit. */
  async request(spec: RequestSpec): Promise<BufferedResponse> {
    const a = await this.send(spec, false);
    return { status: a.status, headers: a.headers, url: a.url, body: a.body };
  }

  /** A request whose 2xx response body is handed back as a stream (blobs); the idle timeout follows the reading. */
  async requestStream(spec: RequestSpec): Promise<StreamResponse> {
    const a = await this.send(spec, true);
    if (!a.stream)
      throw new OciError({ code: 'INVALID_RESPONSE', registry: spec.host, message: `${spec.operation} on ${spec.host} answered ${a.status} without a body` });
    return { status: a.status, headers: a.headers, url: a.url, stream: a.stream };
  }

  /** The auth layer: credentials only for the registry's own host, and only its own 401s teach it anything. */
  private async send(spec: RequestSpec, stream: boolean): Promise<Answer> {
    const ctx = this.context(spec, stream);
    const replayable = !(spec.body instanceof ReadableStream);
    // The registry's own host as URLs spell it (lower case, default port dropped), and whether the URL asked is on it.
    const absolute = /^https?:\/\//i.test(spec.path) ? new URL(spec.path) : undefined;
    const own = new URL(`${absolute?.protocol ?? 'https:'}//${apiHost(spec.host)}`).host;
    const toOwnHost = !absolute || absolute.host === own;
    const describe = (a: Answer) => this.errorOf(spec, a, own);
    for (let round = 0; ; round++) {
      // Outside the retry loop: a token request has its own retries, and its failure is final here.
      const authz = toOwnHost ? await this.auth.authorization(spec.host, spec.scopes) : undefined;
      const answer = await this.retries.run({ limiter: ctx.limiter, replayable, describe }, async (n) => {
        const first = new URL(spec.path, await this.baseUrl(spec.host));
        const headers = { 'User-Agent': this.userAgent, ...spec.headers, ...(authz ? { Authorization: authz } : {}) };
        return this.follow(spec, first, headers, { ...ctx, repeat: n > 1 || round > 0 });
      });
      if ((answer.status >= 200 && answer.status < 300) || spec.accept?.includes(answer.status)) return answer;
      // Only the registry's own answer to the URL asked teaches the auth layer anything.
      if (answer.status === 401 && round < 2 && !answer.redirected && new URL(answer.url).host === own) {
        // Round 1 learns the challenge (or a token expired early); round 2 has fresh credentials. Beyond that: refused.
        if (this.auth.onUnauthorized(spec.host, spec.scopes, parseWwwAuthenticate(answer.headers.get('www-authenticate') ?? ''))) {
          if (replayable) continue;
          const message = `${spec.operation} on ${spec.host} needs authentication; retry with the new credentials`;
          throw new OciError({ code: 'UNAUTHORIZED', status: 401, retryable: true, registry: spec.host, ...repoOf(spec), message });
        }
      }
      throw describe(answer);
    }
  }

  /** The redirect layer: follows a read's redirects by the rules of redirects.ts, each hop through the exchange layer. */
  private async follow(spec: RequestSpec, first: URL, headers: Record<string, string>, ctx: ExchangeContext): Promise<Answer> {
    const chain = startChain(first);
    let hop = { url: first, method: spec.method, headers, ...(spec.body !== undefined ? { body: spec.body } : {}) };
    for (;;) {
      const answer = await this.exchange.send(hop, ctx);
      if (chain.hops > 0) answer.redirected = true;
      if (!isRedirect(answer.status) || spec.redirect === 'manual') return answer;
      const next = nextHop(answer, chain, { registry: spec.host, operation: spec.operation, method: hop.method });
      const { Authorization: _dropped, ...rest } = hop.headers;
      hop = { url: next.url, method: next.method, headers: next.keepAuthorization ? hop.headers : rest };
    }
  }

  private context(spec: RequestSpec, stream: boolean): ExchangeContext {
    return {
      label: { host: spec.host, method: spec.method, operation: spec.operation, path: spec.path },
      registry: spec.host,
      ...repoOf(spec),
      limiter: this.limiter.forHost(spec.host),
      stream,
      maxBodyBytes: spec.maxBodyBytes ?? this.readLimits.manifestBytes,
      maxErrorBytes: this.readLimits.errorBytes,
      repeat: false,
    };
  }

  private errorOf(spec: RequestSpec, a: Answer, own: string): OciError {
    const foreign = new URL(a.url).host !== own ? ` (answered by ${new URL(a.url).host})` : '';
    const text = a.truncated ? '' : new TextDecoder().decode(a.body);
    const err = errorFromResponse(a.status, text, { registry: spec.host, operation: spec.operation, ...repoOf(spec) });
    if (!foreign && !a.truncated) return err;
    const note = `${foreign}${a.truncated ? ` (error body over ${this.readLimits.errorBytes} bytes, not read)` : ''}`;
    return new OciError({ code: err.code, status: a.status, retryable: err.retryable, registry: spec.host, ...repoOf(spec), message: `${err.message}${note}` });
  }

  /** Token requests: the same exchange and retry layers, counted under the realm's host; no redirects, no registry auth. */
  private async tokenFetch(url: URL, init: TokenRequestInit, registry: string): Promise<{ status: number; body: string }> {
    const ctx: ExchangeContext = {
      label: { host: url.host, method: init.method, operation: 'token request', path: url.pathname },
      registry,
      limiter: this.limiter.forHost(url.host),
      stream: false,
      maxBodyBytes: this.readLimits.tokenBytes,
      maxErrorBytes: this.readLimits.errorBytes,
      repeat: false,
    };
    const describe = (a: Answer) => errorFromResponse(a.status, '', { registry, operation: `token request to ${url.origin}${url.pathname}` });
    const hop = { url, method: init.method, headers: init.headers, ...(init.body !== undefined ? { body: init.body } : {}) };
    const a = await this.retries.run({ limiter: ctx.limiter, replayable: true, describe }, (n) => this.exchange.send(hop, { ...ctx, repeat: n > 1 }));
    if (isRedirect(a.status)) {
      throw new OciError({
        code: 'REDIRECT_REFUSED',
        registry,
        message: `token request to ${url.origin}${url.pathname} for ${registry} was redirected (${a.status}); token requests are not redirected`,
      });
    }
    return { status: a.status, body: new TextDecoder().decode(a.body) };
  }
}
