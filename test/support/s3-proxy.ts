// An HTTP proxy in front of a real S3 server (the stack's versitygw) that records every request
// and, when asked, plays an S3 backend that does not support conditional writes: it drops
// `If-None-Match` from object PUTs and signs the request again (SigV4, with the test's own
// credentials) so that the server accepts it and overwrites. A real server will not misbehave
// like that on demand; everything else passes through unchanged, Host header included (the
// client signed it).
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

export interface S3ProxyRequest {
  method: string;
  /** Path without the query. */
  path: string;
  status?: number;
  /** The request carried If-None-Match (before the proxy dropped it). */
  ifNoneMatch: boolean;
}

/** node:crypto in the shape @smithy/signature-v4 wants for its hashes and HMACs. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

class Sha256 {
  private hash: Hash | Hmac;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytesOf(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export class S3Proxy {
  readonly requests: S3ProxyRequest[] = [];
  /** When true, object PUTs lose If-None-Match on their way to the server. */
  stripIfNoneMatch = false;
  private readonly signer: SignatureV4;

  private constructor(
    private readonly server: http.Server,
    private readonly target: URL,
    region: string,
  ) {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw new Error('S3Proxy re-signs requests: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (the stack env)');
    // S3 signs the path as sent (no second escaping), like the SDK's own S3 signer.
    this.signer = new SignatureV4({ service: 's3', region, credentials: { accessKeyId, secretAccessKey }, sha256: Sha256, uriEscapePath: false });
  }

  static async start(targetEndpoint: string, region: string): Promise<S3Proxy> {
    const server = http.createServer();
    const proxy = new S3Proxy(server, new URL(targetEndpoint), region);
    server.on('request', (req, res) => void proxy.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const record: S3ProxyRequest = { method: req.method ?? 'GET', path: url.pathname, ifNoneMatch: req.headers['if-none-match'] !== undefined };
    this.requests.push(record);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let headers = { ...req.headers } as Record<string, string>;
    if (this.stripIfNoneMatch && record.method === 'PUT' && record.ifNoneMatch) headers = await this.resign(req, url, body, headers);
    const upstream = http.request({ host: this.target.hostname, port: this.target.port, method: record.method, path: req.url, headers }, (answer) => {
      record.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }

  /** The request's headers without If-None-Match, signed again as the client would have signed them. */
  private async resign(req: http.IncomingMessage, url: URL, body: Buffer, headers: Record<string, string>): Promise<Record<string, string>> {
    const { authorization: _auth, 'if-none-match': _inm, 'x-amz-date': _date, connection: _conn, ...rest } = headers;
    const [host, port] = (headers.host ?? '').split(':');
    const signed = await this.signer.sign({
      method: req.method ?? 'PUT',
      protocol: 'http:',
      hostname: host!,
      ...(port ? { port: Number(port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: rest,
      body,
    });
    return signed.headers;
  }
}
