// A small, real Docker-registry token server (the "Bearer" flow of the distribution auth spec),
// so one dev registry exercises token auth the way Docker Hub, GHCR or Harbor do.
//
//   GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]   (Basic credentials)
//   POST /token  grant_type=password|refresh_token (form)                 (OAuth2 variant)
//   GET  /healthz
//
// Tokens are JWTs signed ES256; the header carries the signing certificate in `x5c`, which
// distribution 2.8 verifies against its `auth.token.rootcertbundle` (the same self-signed cert).
// Authenticated users get every action they ask for; anonymous callers get a token without access.
//
// Self-contained on purpose (node: built-ins only, erasable TypeScript) so that it also runs in a
// plain `node:24` container. Configured through environment variables:
//   PROMOTER_TOKEN_HOST (127.0.0.1)  PROMOTER_TOKEN_PORT (5005)
//   PROMOTER_TOKEN_SERVICE (promoter-dev)  PROMOTER_TOKEN_ISSUER (promoter-dev-token-issuer)
//   PROMOTER_TOKEN_KEY, PROMOTER_TOKEN_CERT   PEM key and certificate paths
//   PROMOTER_TOKEN_USERS                      file of `user:password` lines
//   PROMOTER_TOKEN_TTL (300 seconds)
//   PROMOTER_TOKEN_TLS_CERT, PROMOTER_TOKEN_TLS_KEY  serve HTTPS with this PEM certificate and key
//   PROMOTER_TOKEN_INIT=1                     create key+cert with openssl when missing
//   PROMOTER_OIDC_*                           also serve the OIDC issuer (see oidc-issuer.ts)
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, randomUUID, sign, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOidcIssuerFromEnv } from './oidc-issuer';

/** Creates an ECDSA P-256 key (PKCS#8 PEM, 0600) and a self-signed certificate with openssl, once. */
export function ensureTokenKeyPair(keyPath: string, certPath: string): void {
  if (existsSync(keyPath) && existsSync(certPath)) return;
  mkdirSync(dirname(keyPath), { recursive: true });
  mkdirSync(dirname(certPath), { recursive: true });
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '3650',
        '-subj',
        '/CN=promoter-dev-token-issuer',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl could not create the token signing key: ${stderr || (err as Error).message}`);
  }
  chmodSync(keyPath, 0o600);
}

export interface TokenServerOptions {
  host: string;
  port: number;
  service: string;
  issuer: string;
  key: KeyObject;
  certificate: X509Certificate;
  users: Map<string, string>;
  ttlSeconds: number;
  /** PEM certificate and key: serve HTTPS instead of plain HTTP. */
  tls?: { cert: string; key: string };
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const digest = (s: string) => createHash('sha256').update(s).digest();

/** Parses `type:name:actions` (a name may itself contain ':' e.g. a port, so split at both ends). */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function mergeAccess(scopes: string[]): Access[] {
  const merged = new Map<string, Access>();
  for (const raw of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const access = parseScope(raw);
    if (!access) continue;
    const key = `${access.type}\u0000${access.name}`;
    const existing = merged.get(key);
    if (existing) existing.actions = [...new Set([...existing.actions, ...access.actions])];
    else merged.set(key, { ...access, actions: [...new Set(access.actions)] });
  }
  return [...merged.values()];
}

export function createTokenServer(opts: TokenServerOptions): Server {
  const certDer = opts.certificate.raw.toString('base64');
  const refreshTokens = new Map<string, string>(); // opaque refresh token -> user (memory only)

  function checkPassword(user: string, password: string): boolean {
    const expected = opts.users.get(user);
    // Compare fixed-length hashes so timing does not leak the password length or prefix.
    return expected !== undefined && timingSafeEqual(digest(expected), digest(password));
  }

  function issue(subject: string, access: Access[]) {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = {
      iss: opts.issuer,
      sub: subject,
      aud: opts.service,
      exp: now + opts.ttlSeconds,
      nbf: now,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 wants the raw r||s signature, not DER.
    const signature = sign('sha256', Buffer.from(signingInput), { key: opts.key, dsaEncoding: 'ieee-p1363' });
    const token = `${signingInput}.${b64url(signature)}`;
    return { token, access_token: token, expires_in: opts.ttlSeconds, issued_at: new Date(now * 1000).toISOString() };
  }

  function basicUser(req: IncomingMessage): { user?: string; bad: boolean } {
    const header = req.headers.authorization;
    if (!header) return { bad: false };
    const match = /^Basic\s+(\S+)$/i.exec(header);
    if (!match?.[1]) return { bad: true };
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { bad: true };
    const user = decoded.slice(0, colon);
    return checkPassword(user, decoded.slice(colon + 1)) ? { user, bad: false } : { bad: true };
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  const unauthorized = (res: ServerResponse) =>
    send(
      res,
      401,
      { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] },
      {
        'www-authenticate': `Basic realm="${opts.service}"`,
      },
    );

  function grant(user: string | undefined, scopes: string[]) {
    // Anonymous callers get a valid token that grants nothing; the registry then answers 401.
    return user ? mergeAccess(scopes) : [];
  }

  async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 64 * 1024) throw new Error('request body too large');
      chunks.push(chunk as Buffer);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    if (url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (url.pathname !== '/token') return send(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });

    if (req.method === 'GET') {
      const service = url.searchParams.get('service');
      if (service && service !== opts.service) return send(res, 400, { errors: [{ code: 'INVALID_SERVICE', message: `unknown service ${service}` }] });
      const { user, bad } = basicUser(req);
      if (bad) return unauthorized(res);
      const body: Record<string, unknown> = issue(user ?? '', grant(user, url.searchParams.getAll('scope')));
      if (user && url.searchParams.get('offline_token') === 'true') {
        const refresh = randomBytes(24).toString('base64url');
        refreshTokens.set(refresh, user);
        body.refresh_token = refresh;
      }
      return send(res, 200, body);
    }

    if (req.method === 'POST') {
      const form = await readForm(req);
      const service = form.get('service');
      if (service && service !== opts.service) return send(res, 400, { errors: [{ code: 'INVALID_SERVICE', message: `unknown service ${service}` }] });
      const scopes = form.getAll('scope');
      const grantType = form.get('grant_type');
      let user: string | undefined;
      if (grantType === 'password') {
        const username = form.get('username') ?? '';
        if (!checkPassword(username, form.get('password') ?? '')) return unauthorized(res);
        user = username;
      } else if (grantType === 'refresh_token') {
        user = refreshTokens.get(form.get('refresh_token') ?? '');
        if (!user) return unauthorized(res);
      } else {
        return send(res, 400, { errors: [{ code: 'UNSUPPORTED_GRANT_TYPE', message: 'grant_type must be password or refresh_token' }] });
      }
      const body: Record<string, unknown> = issue(user, grant(user, scopes));
      if (form.get('access_type') === 'offline') {
        const refresh = randomBytes(24).toString('base64url');
        refreshTokens.set(refresh, user);
        body.refresh_token = refresh;
      }
      return send(res, 200, body);
    }

    return send(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'method not allowed' }] }, { allow: 'GET, POST' });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => {
      // Log the error class only: request headers and bodies may carry credentials.
      process.stderr.write(`token-server: ${req.method} ${req.url?.split('?')[0]} failed: ${err.message}\n`);
      if (!res.headersSent) send(res, 500, { errors: [{ code: 'UNKNOWN', message: 'internal error' }] });
      else res.end();
    });
  };
  return opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createServer(listener);
}

/** Reads `user:password` lines (blank lines and # comments ignored). */
export function loadUsers(file: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    if (colon > 0) users.set(trimmed.slice(0, colon), trimmed.slice(colon + 1));
  }
  return users;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function main() {
  const keyPath = required('PROMOTER_TOKEN_KEY');
  const certPath = required('PROMOTER_TOKEN_CERT');
  if (process.env.PROMOTER_TOKEN_INIT === '1') ensureTokenKeyPair(keyPath, certPath);
  const opts: TokenServerOptions = {
    host: process.env.PROMOTER_TOKEN_HOST ?? '127.0.0.1',
    port: Number(process.env.PROMOTER_TOKEN_PORT ?? 5005),
    service: process.env.PROMOTER_TOKEN_SERVICE ?? 'promoter-dev',
    issuer: process.env.PROMOTER_TOKEN_ISSUER ?? 'promoter-dev-token-issuer',
    key: createPrivateKey(readFileSync(keyPath)),
    certificate: new X509Certificate(readFileSync(certPath)),
    users: loadUsers(required('PROMOTER_TOKEN_USERS')),
    ttlSeconds: Number(process.env.PROMOTER_TOKEN_TTL ?? 300),
  };
  const tlsCert = process.env.PROMOTER_TOKEN_TLS_CERT;
  const tlsKey = process.env.PROMOTER_TOKEN_TLS_KEY;
  if (tlsCert && tlsKey) opts.tls = { cert: readFileSync(tlsCert, 'utf8'), key: readFileSync(tlsKey, 'utf8') };
  const server = createTokenServer(opts);
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`token-server: listening on ${opts.tls ? 'https' : 'http'}://${opts.host}:${opts.port}/token (service ${opts.service})\n`);
  });
  // The dev stack's OIDC issuer for keyless signing rides along when configured (oidc-issuer.ts).
  const oidcIssuer = startOidcIssuerFromEnv(process.env);
  const stop = () => {
    oidcIssuer?.close();
    server.close(() => process.exit(0));
    server.closeAllConnections(); // keep-alive clients would otherwise hold the close open
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`token-server: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
