// A small OpenID Connect issuer for the dev stack: it stands in for a cloud workload identity
// (e.g. the Google service account the Kubernetes promoter signs as), so Fulcio can issue real
// keyless certificates locally. The token server mounts it on a listener of its own.
//
//   GET /.well-known/openid-configuration   discovery (issuer, jwks_uri, RS256)
//   GET /.well-known/jwks.json              the public signing key
//
// There is no token endpoint: like a projected service-account token, the identity token is a
// file that the issuer process rewrites well before expiry (`startTokenFile`); whoever may read the
// file may sign as that identity. Tokens are RS256 JWTs (as Google's are; cosign also takes only RS256
// tokens inline, others it reads as a file name) with the claims of Fulcio's `email` issuer type:
// `email`, `email_verified: true`, audience `sigstore`, `iat`, `nbf`, `exp`.
//
// Self-contained (node: built-ins only, erasable TypeScript), like the token server.
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { dirname } from 'node:path';

const SIGSTORE_AUDIENCE = 'sigstore';
const DISCOVERY_PATH = '/.well-known/openid-configuration';
const JWKS_PATH = '/.well-known/jwks.json';

/** Creates the issuer's RSA 2048 signing key (PKCS#8 PEM, 0600) once. */
function ensureIssuerKey(path: string): void {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(path, privateKey, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export interface IssuerKey {
  key: KeyObject;
  /** RFC 7638 thumbprint of the public key: the JWT `kid`. */
  kid: string;
  publicJwk: Record<string, string>;
}

export function loadIssuerKey(pem: string | Buffer): IssuerKey {
  const key = createPrivateKey(pem);
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  if (jwk.kty !== 'RSA') throw new Error('the OIDC issuer key must be an RSA key');
  // RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
  const kid = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');
  return { key, kid, publicJwk: { kty: 'RSA', n: jwk.n!, e: jwk.e!, kid, use: 'sig', alg: 'RS256' } };
}

export interface IdTokenClaims {
  issuer: string;
  /** The identity: an email address (Fulcio `email` issuer type). */
  email: string;
  audience?: string;
  ttlSeconds?: number;
  /** Seconds since the epoch; defaults to now. Tests move it to make expired tokens. */
  issuedAt?: number;
  emailVerified?: boolean;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** An RS256-signed ID token. `sub` is the email, as Fulcio embeds it for email identities. */
export function mintIdToken(issuerKey: IssuerKey, claims: IdTokenClaims): string {
  const iat = claims.issuedAt ?? Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: issuerKey.kid };
  const payload = {
    iss: claims.issuer,
    sub: claims.email,
    aud: claims.audience ?? SIGSTORE_AUDIENCE,
    iat,
    nbf: iat,
    exp: iat + (claims.ttlSeconds ?? 600),
    jti: randomUUID(),
    email: claims.email,
    email_verified: claims.emailVerified ?? true,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(input), issuerKey.key);
  return `${input}.${b64url(signature)}`;
}

/** Request handler for discovery and JWKS; returns false for any other path (the caller answers 404). */
function oidcIssuerHandler(issuer: string, issuerKey: IssuerKey): (req: IncomingMessage, res: ServerResponse) => boolean {
  const discovery = JSON.stringify({
    issuer,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'email', 'email_verified'],
  });
  const jwks = JSON.stringify({ keys: [issuerKey.publicJwk] });
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://issuer').pathname;
    const body = path === DISCOVERY_PATH ? discovery : path === JWKS_PATH ? jwks : undefined;
    if (body === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

/** Writes a file atomically (temp file + rename) with mode 0600, so a reader never sees half a token. No newline, as in projected tokens. */
function writeTokenFile(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, token, { mode: 0o600 });
  renameSync(temp, path);
}

/**
 * Keeps `path` holding a fresh token, rewritten every `refreshSeconds` (well inside its lifetime,
 * as the kubelet refreshes projected service-account tokens). Returns a stop function.
 */
function startTokenFile(path: string, mint: () => string, refreshSeconds: number): () => void {
  writeTokenFile(path, mint());
  const timer = setInterval(() => {
    try {
      writeTokenFile(path, mint());
    } catch (err) {
      process.stderr.write(`oidc-issuer: could not refresh ${path}: ${(err as Error).message}\n`);
    }
  }, refreshSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

export interface RunningIssuer {
  server: Server;
  close(): void;
}

/**
 * Starts the issuer when PROMOTER_OIDC_ISSUER is set (the token server calls this):
 *   PROMOTER_OIDC_ISSUER       issuer URL, http://HOST:PORT; the listener binds that address
 *   PROMOTER_OIDC_KEY          PEM signing key (created when missing)
 *   PROMOTER_OIDC_EMAIL        the identity the token file carries
 *   PROMOTER_OIDC_TOKEN_FILE   where the current token is kept
 *   PROMOTER_OIDC_TOKEN_TTL (600 s)  PROMOTER_OIDC_TOKEN_REFRESH (120 s)
 */
export function startOidcIssuerFromEnv(env: NodeJS.ProcessEnv): RunningIssuer | undefined {
  const issuer = env.PROMOTER_OIDC_ISSUER;
  if (!issuer) return undefined;
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set (needed with PROMOTER_OIDC_ISSUER)`);
    return value;
  };
  const url = new URL(issuer);
  if (url.protocol !== 'http:' || url.pathname !== '/' || !url.port) throw new Error(`PROMOTER_OIDC_ISSUER must be http://HOST:PORT, got ${issuer}`);
  const issuerUrl = issuer.replace(/\/$/, '');
  const keyPath = need('PROMOTER_OIDC_KEY');
  ensureIssuerKey(keyPath);
  const issuerKey = loadIssuerKey(readFileSync(keyPath));
  const email = need('PROMOTER_OIDC_EMAIL');
  const ttlSeconds = Number(env.PROMOTER_OIDC_TOKEN_TTL ?? 600);
  const refreshSeconds = Number(env.PROMOTER_OIDC_TOKEN_REFRESH ?? 120);
  if (!(refreshSeconds > 0 && refreshSeconds < ttlSeconds)) throw new Error('PROMOTER_OIDC_TOKEN_REFRESH must be positive and below PROMOTER_OIDC_TOKEN_TTL');

  const handle = oidcIssuerHandler(issuerUrl, issuerKey);
  const server = createServer((req, res) => {
    if (!handle(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    }
  });
  server.listen(Number(url.port), url.hostname, () => {
    process.stdout.write(`oidc-issuer: ${issuerUrl} serving discovery and JWKS; token for ${email} in ${need('PROMOTER_OIDC_TOKEN_FILE')}\n`);
  });
  const stopTokens = startTokenFile(need('PROMOTER_OIDC_TOKEN_FILE'), () => mintIdToken(issuerKey, { issuer: issuerUrl, email, ttlSeconds }), refreshSeconds);
  return {
    server,
    close: () => {
      stopTokens();
      server.close();
      server.closeAllConnections();
    },
  };
}
