// One HTTP exchange, the bottom layer of the transport: the allowed-hosts check, the scheme rule,
// the host's budget (a concurrency slot and a token), the host's own connection pool, an idle
// timeout, and reading the answer within its limit. Above it: redirects, retries, auth.
import { HOST_NOT_ALLOWED_CODE, type AllowedHosts } from './allowed-hosts';
import { bufferedRequest } from './buffered-request';
import type { Connections } from './connections';
import { OciError } from './errors';
import type { HttpResponse } from './http-response';
import type { ExchangeLabel, TransportObserver } from './observe';
import type { HostLimiter } from './ratelimit';
import { apiHost } from './reference';
import { streamRequest } from './stream-request';
import { IdleTimer, tap } from './timers';
import { certificateError } from './tls';

export type RequestBody = Uint8Array | string | ReadableStream<Uint8Array>;

export interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: RequestBody;
}

export interface ExchangeContext {
  label: ExchangeLabel;
  /** The registry the request is for: its API host is allowed when it is (docker.io is served by registry-1.docker.io). */
  registry: string;
  repository?: string;
  limiter: HostLimiter;
  /** Hand a 2xx body back as a stream instead of reading it. */
  stream: boolean;
  /** Most bytes of a 2xx body read into memory. */
  maxBodyBytes: number;
  /** Most bytes of an error body read (beyond: not read, `truncated`). */
  maxErrorBytes: number;
  /** A repeated attempt or auth round (counted as a retry). */
  repeat: boolean;
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The URL that answered. */
  url: string;
  /** The body read (2xx buffered, or an error's); empty for redirects, HEAD and streams. */
  body: Uint8Array;
  stream?: ReadableStream<Uint8Array>;
  /** An error body over its limit, left unread. */
  truncated?: boolean;
  /** The answer came at the end of a redirect chain, not from the URL first asked. */
  redirected?: boolean;
}

export interface ExchangeDeps {
  hosts: AllowedHosts;
  connections: Connections;
  observer: TransportObserver;
  allowHttp: (host: string) => boolean;
  timeoutMs: number;
}

const isRedirect = (status: number) => status >= 300 && status < 400 && status !== 304;

export class Exchange {
  constructor(private readonly deps: ExchangeDeps) {}

  /** Sends one hop and reads its answer; failures come back as OciErrors (retryable or not). */
  async send(hop: Hop, ctx: ExchangeContext): Promise<Answer> {
    this.check(hop.url, ctx);
    const pools = this.deps.connections.for(hop.url.host);
    const release = await ctx.limiter.acquire();
    const started = this.deps.observer.started(ctx.label, ctx.repeat);
    let reported = false;
    const done = (status: number, headers?: Headers) => {
      if (!reported) started(status, headers);
      reported = true;
    };
    const timer = new IdleTimer(this.deps.timeoutMs);
    let streaming = false;
    try {
      const res = await this.request(hop, pools, timer);
      done(res.status, res.headers);
      const ok = res.status >= 200 && res.status < 300;
      if (ok && ctx.stream && hop.method !== 'HEAD' && res.body) {
        // The slot is freed once headers arrive: a reader that stalls must not hold the host's budget.
        streaming = true;
        timer.touch();
        const stream = tap(
          res.body,
          () => timer.touch(),
          () => timer.clear(),
        );
        return { status: res.status, headers: res.headers, url: res.url, body: new Uint8Array(0), stream };
      }
      if (isRedirect(res.status) || hop.method === 'HEAD') {
        res.discard();
        return { status: res.status, headers: res.headers, url: res.url, body: new Uint8Array(0) };
      }
      if (ok) return { status: res.status, headers: res.headers, url: res.url, body: await this.readOk(res, ctx) };
      const read = await res.readUpTo(ctx.maxErrorBytes);
      return { status: res.status, headers: res.headers, url: res.url, body: read.bytes, ...(read.over ? { truncated: true } : {}) };
    } catch (e) {
      done(0);
      throw this.failure(e, timer.timedOut, hop.url, ctx);
    } finally {
      if (!streaming) timer.clear();
      release();
    }
  }

  private check(url: URL, ctx: ExchangeContext): void {
    const registryItself = url.host === apiHost(ctx.registry).toLowerCase() && url.host !== ctx.registry.toLowerCase();
    const refused = this.deps.hosts.refusal(registryItself ? ctx.registry : url.host);
    if (refused)
      throw new OciError({
        code: 'HOST_NOT_ALLOWED',
        retryable: false,
        registry: ctx.registry,
        message: `${ctx.label.operation}: refusing to connect: ${refused}`,
      });
    if (url.protocol === 'http:' && !this.deps.allowHttp(url.host)) {
      throw new OciError({ code: 'INSECURE', registry: ctx.registry, message: `refusing plain HTTP to ${url.host}: not loopback and not configured insecure` });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OciError({ code: 'INVALID_RESPONSE', registry: ctx.registry, message: `unsupported URL scheme ${url.protocol} from ${ctx.registry}` });
    }
  }

  private request(hop: Hop, pools: ReturnType<Connections['for']>, timer: IdleTimer): Promise<HttpResponse> {
    const { url, method, headers } = hop;
    const signal = timer.controller.signal;
    if (hop.body instanceof ReadableStream) {
      const body = tap(
        hop.body,
        () => timer.touch(),
        () => timer.touch(),
      );
      return streamRequest(url, { method, headers, body, signal, agent: url.protocol === 'https:' ? pools.httpsAgent : pools.httpAgent });
    }
    return bufferedRequest(pools.dispatcher, url, { method, headers, ...(hop.body !== undefined ? { body: hop.body } : {}), signal });
  }

  /** A 2xx body within its limit: a Content-Length over it is refused unread, a longer body at the first byte past it. */
  private async readOk(res: HttpResponse, ctx: ExchangeContext): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > ctx.maxBodyBytes) {
      res.discard();
      throw tooLarge(ctx, res.url, `Content-Length ${declared}, not read`);
    }
    const read = await res.readUpTo(ctx.maxBodyBytes);
    if (read.over) throw tooLarge(ctx, res.url, `reading stopped at ${ctx.maxBodyBytes + 1} bytes`);
    return read.bytes;
  }

  private failure(e: unknown, timedOut: boolean, url: URL, ctx: ExchangeContext): OciError {
    const base = { registry: ctx.registry, ...(ctx.repository ? { repository: ctx.repository } : {}) };
    const { operation } = ctx.label;
    if (timedOut)
      return new OciError({
        ...base,
        code: 'TIMEOUT',
        retryable: true,
        message: `${operation} on ${url.host} timed out after ${this.deps.timeoutMs} ms without progress`,
      });
    if (e instanceof OciError) return e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (e as { code?: string }).code;
    if (code === HOST_NOT_ALLOWED_CODE) {
      return new OciError({
        ...base,
        code: 'HOST_NOT_ALLOWED',
        retryable: false,
        message: `${operation}: refusing to connect: ${cause?.message ?? (e as Error).message}`,
      });
    }
    const refused = certificateError(e, url.host, this.deps.connections.tlsOf(url.host));
    if (refused) return refused;
    return new OciError({ ...base, code: 'NETWORK', retryable: true, message: `${operation} on ${url.host} failed: ${code ?? (e as Error).name ?? 'error'}` });
  }
}

function tooLarge(ctx: ExchangeContext, url: string, detail: string): OciError {
  const from = new URL(url).host;
  const asked = ctx.repository ? `${ctx.label.host}/${ctx.repository}` : ctx.label.host;
  const where = `${asked}${from !== ctx.label.host.toLowerCase() ? ` (answered by ${from})` : ''}`;
  return new OciError({
    code: 'TOO_LARGE',
    retryable: false,
    registry: ctx.registry,
    ...(ctx.repository ? { repository: ctx.repository } : {}),
    message: `${ctx.label.operation} on ${where}: the answer is larger than the limit of ${ctx.maxBodyBytes} bytes (${detail}); refused`,
  });
}
