// Registry authentication: Basic, or Bearer tokens from the realm a 401
// challenge names (distribution's token auth). Tokens are cached per
// (host, service, scope set) until shortly before they expire, then dropped;
// the caches are bounded. Only the transport calls onUnauthorized, and only for
// a 401 from the registry's own host: nothing another host answers changes how
// this host is authenticated.
import { LRUCache } from 'lru-cache';
import type { Credential, CredentialStore } from './credentials';
import { OCI_DEFAULTS } from './defaults';
import { OciError } from './errors';
import type { Challenge } from './headers';

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/** Merge actions per resource and sort, so equal scope sets share one cache key. */
export function normaliseScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    for (const one of s.split(' ')) {
      if (!one) continue;
      const i = one.lastIndexOf(':');
      const resource = i > 0 ? one.slice(0, i) : one;
      const actions = i > 0 ? one.slice(i + 1).split(',') : [];
      const set = byResource.get(resource) ?? new Set<string>();
      actions.filter(Boolean).forEach((a) => set.add(a));
      byResource.set(resource, set);
    }
  }
  return [...byResource.entries()].map(([r, a]) => (a.size ? `${r}:${[...a].sort().join(',')}` : r)).sort();
}

export interface TokenResponse {
  token: string;
  /** epoch ms after which the token must not be used */
  expiresAt: number;
}

export interface TokenRequestInit {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

/** Fetch used for token requests: the transport's (allowed hosts, budget, retries, size limit, stats), no registry auth. */
export type TokenFetch = (url: URL, init: TokenRequestInit, registry: string) => Promise<{ status: number; body: string }>;

export interface AuthenticatorOptions {
  credentials: CredentialStore;
  tokenFetch: TokenFetch;
  /** May a URL on this host be spoken to over plain HTTP (loopback / configured insecure)? */
  allowHttp: (hostPort: string) => boolean;
  userAgent: string;
  now?: () => number;
  maxTokens?: number;
  maxChallenges?: number;
}

const EXPIRY_MARGIN_MS = 10_000;
const DEFAULT_TOKEN_LIFETIME_S = 60;

export class Authenticator {
  private readonly challenges: LRUCache<string, Challenge>;
  /** Each token lives until shortly before it expires (its TTL), and the least recently used go past the bound. */
  private readonly tokens: LRUCache<string, TokenResponse>;
  private readonly pending = new Map<string, Promise<TokenResponse>>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.now = opts.now ?? Date.now;
    this.challenges = new LRUCache({ max: opts.maxChallenges ?? OCI_DEFAULTS.auth.maxChallenges });
    const now = this.now;
    // lru-cache reads its clock through `perf`; ours is the transport's (tests move it).
    this.tokens = new LRUCache({ max: opts.maxTokens ?? OCI_DEFAULTS.auth.maxTokens, ttlAutopurge: false, ttlResolution: 0, perf: { now } });
  }

  /** Tokens held now (expired ones are not). */
  get tokenCount(): number {
    this.tokens.purgeStale();
    return this.tokens.size;
  }

  knowsChallenge(host: string): boolean {
    return this.challenges.has(host);
  }

  /** The Authorization header value for a request, or undefined when the host has not asked for auth. */
  async authorization(host: string, scopes: readonly string[]): Promise<string | undefined> {
    const ch = this.challenges.get(host);
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const cred = await this.opts.credentials.get(host);
      if (!cred?.username && !cred?.password) return undefined;
      return `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
    }
    if (ch.scheme === 'bearer') {
      const t = await this.token(host, ch, scopes);
      return `Bearer ${t.token}`;
    }
    throw new OciError({ code: 'UNSUPPORTED', registry: host, message: `registry ${host} asks for unsupported auth scheme "${ch.scheme}"` });
  }

  /**
   * Record a 401's challenge and drop the token that failed. Returns false when
   * a retry cannot help (no usable challenge).
   */
  onUnauthorized(host: string, scopes: readonly string[], wwwAuthenticate: Challenge[]): boolean {
    const ch = wwwAuthenticate.find((c) => c.scheme === 'bearer') ?? wwwAuthenticate.find((c) => c.scheme === 'basic');
    if (!ch) return false;
    this.challenges.set(host, ch);
    if (ch.scheme === 'bearer') this.tokens.delete(this.key(host, ch, scopes));
    return true;
  }

  private key(host: string, ch: Challenge, scopes: readonly string[]): string {
    return `${host}|${ch.params.service ?? ''}|${normaliseScopes(scopes).join(' ')}`;
  }

  private async token(host: string, ch: Challenge, scopes: readonly string[]): Promise<TokenResponse> {
    const key = this.key(host, ch, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > this.now()) return cached;
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetchToken(host, ch, scopes).then(
        (t) => {
          const ttl = t.expiresAt - EXPIRY_MARGIN_MS - this.now();
          if (ttl > 0) this.tokens.set(key, t, { ttl });
          this.pending.delete(key);
          return t;
        },
        (e: unknown) => {
          this.pending.delete(key);
          throw e;
        },
      );
      this.pending.set(key, p);
    }
    return p;
  }

  private async fetchToken(host: string, ch: Challenge, scopes: readonly string[]): Promise<TokenResponse> {
    const realm = ch.params.realm;
    if (!realm) throw new OciError({ code: 'UNAUTHORIZED', registry: host, message: `registry ${host} sent a Bearer challenge without realm` });
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new OciError({ code: 'UNAUTHORIZED', registry: host, message: `registry ${host} sent an invalid token realm` });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.opts.allowHttp(url.host))) {
      throw new OciError({ code: 'INSECURE', registry: host, message: `token realm ${url.origin} for ${host} is not HTTPS; refusing to send credentials` });
    }
    const scopeList = normaliseScopes(scopes.length ? scopes : ch.params.scope ? [ch.params.scope] : []);
    const cred: Credential | undefined = await this.opts.credentials.get(host);
    const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent, Accept: 'application/json' };
    let init: TokenRequestInit;
    if (cred?.identityToken) {
      // OAuth2 refresh-token grant, as docker does with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'promoter' });
      if (ch.params.service) form.set('service', ch.params.service);
      if (scopeList.length) form.set('scope', scopeList.join(' '));
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init = { method: 'POST', headers, body: form.toString() };
    } else {
      if (ch.params.service) url.searchParams.set('service', ch.params.service);
      for (const s of scopeList) url.searchParams.append('scope', s);
      if (cred?.username || cred?.password) {
        headers.Authorization = `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
      }
      init = { method: 'GET', headers };
    }
    const started = this.now();
    const res = await this.opts.tokenFetch(url, init, host);
    if (res.status !== 200) {
      const code = res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'DENIED' : res.status === 429 ? 'TOOMANYREQUESTS' : 'SERVER_ERROR';
      throw new OciError({
        code,
        status: res.status,
        registry: host,
        message: `token request to ${url.origin}${url.pathname} for ${host} (${scopeList.join(' ') || 'no scope'}) failed with HTTP ${res.status}`,
      });
    }
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      throw new OciError({ code: 'INVALID_RESPONSE', registry: host, message: `token server ${url.origin} for ${host} returned non-JSON` });
    }
    const token = body.token || body.access_token;
    if (!token) throw new OciError({ code: 'INVALID_RESPONSE', registry: host, message: `token server ${url.origin} for ${host} returned no token` });
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S;
    // Our own clock from before the request, not issued_at: token servers' clocks drift. A server's
    // "forever" is held for a day at most.
    return { token, expiresAt: started + Math.min(lifetime * 1000, OCI_DEFAULTS.auth.maxTokenLifetimeMs) };
  }
}
