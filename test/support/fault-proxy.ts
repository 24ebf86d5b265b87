// An HTTP proxy in front of a real registry that injects scripted faults a
// real server will not produce on demand: 429/503 with Retry-After, a reset
// connection, a response body with one byte flipped, a delay, a hold until the test lets go. It records when
// each request arrived so tests can assert on timing. The Host header passes
// through unchanged, so the registry's Location URLs point back at the proxy.
// In front of an HTTPS registry the proxy speaks HTTPS too (the stack's server
// certificate, valid for 127.0.0.1 on any port) and puts the stack CA into the
// stack's certs.d folder for its own host:port, so clients trust it the same way.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stackPaths, tlsFiles } from '../../scripts/dev/stack';
import { probeTls } from '../../lib/oci/tls';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string | number; code?: string; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'corrupt'; offset?: number }
  | { kind: 'delay'; ms: number }
  /** Forward only once `until` settles: the test decides when the client gets its answer (a run held mid-phase). */
  | { kind: 'hold'; until: Promise<unknown> }
  /** Read the request body at this rate: a slow destination, so a client that ignores backpressure piles up data. */
  | { kind: 'slow-upload'; bytesPerSecond: number }
  /** Answer with a redirect instead of forwarding (a hostile registry pointing the client elsewhere). */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string }
  /** Answer 200 with `bytes` bytes of junk, declaring the length or not (chunked). */
  | { kind: 'huge'; bytes: number; declareLength: boolean; contentType?: string }
  /** Forward, and add this Link header to the answer (a tag page pointing at another host). */
  | { kind: 'link'; link: string };

export interface FaultRule {
  method?: string;
  /** Matched against the path with query. */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (default 1; Infinity for all). */
  times?: number;
  /** Let this many matching requests through untouched first. */
  skip?: number;
}

export interface RecordedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  path: string;
  fault?: Fault['kind'];
  /** Status sent back (undefined for a reset). */
  status?: number;
  /** Date.now() when the response headers went out. */
  respondedAt?: number;
  /** The Authorization header the client sent, if any. */
  authorization?: string;
  /** For a 'huge' answer: how many bytes went out before the client stopped reading. */
  bytesSent?: number;
}

interface ActiveRule extends FaultRule {
  remaining: number;
  toSkip: number;
}

export class FaultProxy {
  readonly requests: RecordedRequest[] = [];
  private rules: ActiveRule[] = [];
  /**
   * Serve `tags/list?n=&last=` pages with a Link header from the registry's full
   * list. distribution 2.8 ignores n and last on tags/list (it paginates only
   * _catalog), so without this a client's pagination is never exercised.
   */
  emulateTagPagination = false;

  private constructor(
    private readonly server: http.Server,
    readonly host: string,
    readonly target: string,
    /** The target's trust when it speaks HTTPS (the stack CA); undefined for a plain-HTTP target. */
    private readonly upstreamCa: string | undefined,
  ) {}

  /** certs.d folder this proxy added for itself (HTTPS targets only). */
  private get certsEntry(): string {
    return join(stackPaths.certsDir, this.host);
  }

  static async start(target: string): Promise<FaultProxy> {
    const ca = readFileSync(tlsFiles.caCert, 'utf8');
    const tls = (await probeTls(target, { ca: [ca], sources: [] }, 5_000)) === 'tls';
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => proxy.handle(req, res);
    const server = tls
      ? https.createServer({ cert: readFileSync(tlsFiles.serverCert), key: readFileSync(tlsFiles.serverKey) }, listener)
      : http.createServer(listener);
    // Keep-alive sockets would outlive close(); the client reconnects cheaply on loopback.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const proxy = new FaultProxy(server, `127.0.0.1:${port}`, target, tls ? ca : undefined);
    if (tls) {
      mkdirSync(proxy.certsEntry, { recursive: true });
      writeFileSync(join(proxy.certsEntry, 'ca.crt'), ca);
    }
    return proxy;
  }

  /** http.request or https.request (trusting the stack CA) towards the target. */
  private upstream(options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    return this.upstreamCa ? https.request({ ...options, ca: this.upstreamCa }, onResponse) : http.request(options, onResponse);
  }

  addFault(rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1, toSkip: rule.skip ?? 0 });
  }

  clearFaults(): void {
    this.rules = [];
  }

  clearRecords(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    if (this.upstreamCa) rmSync(this.certsEntry, { recursive: true, force: true });
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pick(method: string, path: string): Fault | undefined {
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.method && r.method !== method) continue;
      if (!r.path.test(path)) continue;
      if (r.toSkip > 0) {
        r.toSkip--;
        continue;
      }
      r.remaining--;
      return r.fault;
    }
    return undefined;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const rec: RecordedRequest = { at: Date.now(), method, path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
    this.requests.push(rec);
    const fault = this.pick(method, path);
    if (fault) rec.fault = fault.kind;

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      const headers: Record<string, string> = { 'Content-Type': 'application/json', ...fault.headers };
      if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
      const code = fault.code ?? (fault.status === 429 ? 'TOOMANYREQUESTS' : fault.status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE');
      const body = JSON.stringify({ errors: [{ code, message: `injected ${fault.status}` }] });
      rec.status = fault.status;
      rec.respondedAt = Date.now();
      res.writeHead(fault.status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
      return;
    }
    if (fault?.kind === 'redirect') {
      req.resume();
      rec.status = fault.status;
      rec.respondedAt = Date.now();
      res.writeHead(fault.status, { Location: fault.location, 'Content-Length': '0' });
      res.end();
      return;
    }
    if (fault?.kind === 'huge') {
      req.resume();
      rec.status = 200;
      rec.respondedAt = Date.now();
      pourJunk(res, fault, (n) => (rec.bytesSent = n));
      return;
    }
    const tagList = /^\/v2\/(.+)\/tags\/list(\?.*)?$/.exec(path);
    if (!fault && this.emulateTagPagination && method === 'GET' && tagList) {
      this.paginateTags(req, res, rec, tagList[1]!, new URLSearchParams(tagList[2]?.slice(1) ?? ''));
      return;
    }
    const forward = () =>
      this.forward(
        req,
        res,
        rec,
        fault?.kind === 'corrupt' ? (fault.offset ?? -1) : undefined,
        fault?.kind === 'slow-upload' ? fault.bytesPerSecond : undefined,
        fault?.kind === 'link' ? fault.link : undefined,
      );
    if (fault?.kind === 'delay') setTimeout(forward, fault.ms);
    else if (fault?.kind === 'hold') void fault.until.then(forward, forward);
    else forward();
  }

  private paginateTags(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest, name: string, query: URLSearchParams): void {
    const [hostname, port] = [this.target.slice(0, this.target.lastIndexOf(':')), Number(this.target.slice(this.target.lastIndexOf(':') + 1))];
    const upstream = this.upstream({ hostname, port, method: 'GET', path: `/v2/${name}/tags/list`, headers: req.headers }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        rec.status = up.statusCode;
        rec.respondedAt = Date.now();
        if (up.statusCode !== 200) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(chunks));
          return;
        }
        const all = ((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tags?: string[] | null }).tags ?? []).sort();
        const last = query.get('last');
        const n = Number(query.get('n') ?? all.length);
        const rest = last ? all.filter((t) => t > last) : all;
        const page = rest.slice(0, n);
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (rest.length > page.length) headers.Link = `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
        const body = JSON.stringify({ name, tags: page });
        res.writeHead(200, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
        res.end(body);
      });
    });
    upstream.on('error', () => res.destroy());
    upstream.end();
  }

  private forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rec: RecordedRequest,
    corruptAt: number | undefined,
    bytesPerSecond?: number,
    link?: string,
  ): void {
    const [hostname, port] = [this.target.slice(0, this.target.lastIndexOf(':')), Number(this.target.slice(this.target.lastIndexOf(':') + 1))];
    const upstream = this.upstream({ hostname, port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      rec.status = up.statusCode;
      rec.respondedAt = Date.now();
      res.writeHead(up.statusCode ?? 502, link ? { ...up.headers, link } : up.headers);
      if (corruptAt === undefined) {
        up.pipe(res);
        return;
      }
      // Flip one byte at `corruptAt` (-1: the middle of the body), keeping the length.
      const total = Number(up.headers['content-length'] ?? 0);
      const target = corruptAt >= 0 ? corruptAt : Math.floor(total / 2);
      let seen = 0;
      up.on('data', (chunk: Buffer) => {
        if (target >= seen && target < seen + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[target - seen] = chunk[target - seen]! ^ 0xff;
        }
        seen += chunk.length;
        res.write(chunk);
      });
      up.on('end', () => res.end());
      up.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    if (bytesPerSecond === undefined) {
      req.pipe(upstream);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      req.pause();
      setTimeout(() => req.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
    req.on('end', () => upstream.end());
  }
}

/** Writes junk as fast as the client reads it; reports how much went out when the connection ends. */
function pourJunk(res: http.ServerResponse, fault: { bytes: number; declareLength: boolean; contentType?: string }, done: (sent: number) => void): void {
  res.writeHead(200, {
    'Content-Type': fault.contentType ?? 'application/vnd.oci.image.manifest.v1+json',
    ...(fault.declareLength ? { 'Content-Length': String(fault.bytes) } : {}),
  });
  const piece = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  res.on('close', () => done(sent));
  const write = () => {
    while (sent < fault.bytes && !res.destroyed) {
      const n = Math.min(piece.length, fault.bytes - sent);
      sent += n;
      if (!res.write(piece.subarray(0, n))) return void res.once('drain', write);
    }
    res.end();
  };
  write();
}
