// A hostile host beside the dev stack: whatever a registry's answer points the client at (a tag
// page, a redirect target, a token realm). It records every request it gets, with the
// Authorization header and whether a client certificate came with it, and answers as the test
// scripts. Over HTTPS it serves the stack's server certificate (valid for 127.0.0.1 on any port)
// and trusts the stack CA for itself in the stack's certs.d folder, as FaultProxy does, so the only
// thing wrong with it is what it does.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { stackPaths, tlsFiles } from '../../scripts/dev/stack';

export interface HostileRequest {
  method: string;
  path: string;
  authorization?: string;
  /** A client certificate was presented on the connection. */
  clientCertificate: boolean;
}

export type HostileHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface HostileOptions {
  tls?: boolean;
  /** Ask every client for a certificate (accepting any, or none), to see whether one is sent. */
  requestCert?: boolean;
  /** Extra certs.d folder to trust the stack CA for this host in (besides the stack's). */
  certsDir?: string;
}

export class HostileRegistry {
  readonly requests: HostileRequest[] = [];
  private handler: HostileHandler = (_req, res) => json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'nothing here' }] });

  private constructor(
    private readonly server: http.Server,
    readonly host: string,
    readonly scheme: 'http' | 'https',
    private readonly certsEntries: string[],
  ) {}

  static async start(opts: HostileOptions = {}): Promise<HostileRegistry> {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => self.handle(req, res);
    const server = opts.tls
      ? https.createServer(
          { cert: readFileSync(tlsFiles.serverCert), key: readFileSync(tlsFiles.serverKey), requestCert: !!opts.requestCert, rejectUnauthorized: false },
          listener,
        )
      : http.createServer(listener);
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const entries = opts.tls ? [stackPaths.certsDir, ...(opts.certsDir ? [opts.certsDir] : [])].map((d) => join(d, host)) : [];
    for (const e of entries) {
      mkdirSync(e, { recursive: true });
      writeFileSync(join(e, 'ca.crt'), readFileSync(tlsFiles.caCert));
    }
    const self = new HostileRegistry(server, host, opts.tls ? 'https' : 'http', entries);
    return self;
  }

  get url(): string {
    return `${this.scheme}://${this.host}`;
  }

  /** How it answers from now on. */
  answer(handler: HostileHandler): void {
    this.handler = handler;
  }

  /** Authorization headers it was sent (none, when the client keeps its credentials home). */
  authorizations(): string[] {
    return this.requests.flatMap((r) => (r.authorization ? [r.authorization] : []));
  }

  async close(): Promise<void> {
    for (const e of this.certsEntries) rmSync(e, { recursive: true, force: true });
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket as Partial<TLSSocket>;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    this.requests.push({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      clientCertificate: !!peer && Object.keys(peer).length > 0,
    });
    this.handler(req, res);
  }
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** The credentials the stack's Docker config holds for a registry, as the Basic header a client would send. */
export function stackBasicAuthorization(dockerConfigFile: string, host: string): string {
  const auths = (JSON.parse(readFileSync(dockerConfigFile, 'utf8')) as { auths: Record<string, { auth: string }> }).auths;
  const auth = auths[host]?.auth;
  if (!auth) throw new Error(`no credentials for ${host} in ${dockerConfigFile}`);
  return `Basic ${auth}`;
}

/**
 * A Docker config folder giving `aliases` (proxy hosts in front of a stack registry) that
 * registry's credentials, besides everything the stack's config holds: a worker then speaks to the
 * proxy as it would to the registry itself.
 */
export function dockerConfigWithAliases(stackConfigFile: string, dir: string, aliases: Record<string, string>): string {
  const cfg = JSON.parse(readFileSync(stackConfigFile, 'utf8')) as { auths: Record<string, unknown> };
  for (const [alias, registry] of Object.entries(aliases)) cfg.auths[alias] = cfg.auths[registry];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  return dir;
}
