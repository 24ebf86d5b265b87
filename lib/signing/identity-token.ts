// The OIDC identity token keyless signing presents to Fulcio: where it comes from and whether it
// can still work. Read fresh on every signing (a projected token file is rewritten before expiry);
// checked here first so an expired or wrongly scoped token fails with a clear message instead of
// an opaque refusal from Fulcio. Nothing here verifies the token's signature: Fulcio does that.
// Messages name the source and the claims that are wrong, never the token.
import { readFile } from 'node:fs/promises';
import { SigningError } from './errors';

/** The audience Fulcio expects (its `client-id` for every issuer of the public instance). */
export const SIGSTORE_AUDIENCE = 'sigstore';

export interface IdentityClaims {
  issuer: string;
  /** `email` when the token has one (Fulcio's email issuer type), else `sub`. */
  subject: string;
  audience: string[];
  /** `email_verified` of a token with an `email` (Fulcio refuses unverified emails). */
  emailVerified?: boolean;
  expiresAt: Date;
  notBefore?: Date;
}

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Reads the raw token from `env:NAME` or `file:PATH`. */
export async function readIdentityToken(source: string): Promise<string> {
  let token: string | undefined;
  if (source.startsWith('env:')) {
    token = process.env[source.slice(4)];
  } else if (source.startsWith('file:')) {
    try {
      token = await readFile(source.slice(5), 'utf8');
    } catch {
      throw new SigningError('TOKEN_UNAVAILABLE', `cannot read OIDC token from ${source}`, { retryable: true });
    }
  } else {
    throw new SigningError('CONFIG_INVALID', `OIDC token source must be env:NAME or file:PATH, got ${source}`);
  }
  token = token?.trim();
  if (!token) throw new SigningError('TOKEN_UNAVAILABLE', `no OIDC token in ${source}`, { retryable: true });
  // sigstore-js echoes an unparseable token in its error message; reject it here first.
  if (!JWT_RE.test(token)) throw new SigningError('TOKEN_UNAVAILABLE', `OIDC token from ${source} is not a JWT`);
  return token;
}

/** The claims keyless signing depends on (unverified: for checks and messages only). */
export function identityClaims(token: string, source: string): IdentityClaims {
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new SigningError('TOKEN_UNAVAILABLE', `OIDC token from ${source} has no readable claims`);
  }
  const { iss, sub, email, aud, exp, nbf, email_verified: emailVerified } = claims;
  if (typeof iss !== 'string' || typeof exp !== 'number' || !(typeof email === 'string' || typeof sub === 'string')) {
    throw new SigningError('TOKEN_UNAVAILABLE', `OIDC token from ${source} lacks iss, exp or a subject`);
  }
  return {
    issuer: iss,
    subject: typeof email === 'string' ? email : (sub as string),
    audience: typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [],
    expiresAt: new Date(exp * 1000),
    ...(typeof email === 'string' ? { emailVerified: emailVerified === true || emailVerified === 'true' } : {}),
    ...(typeof nbf === 'number' ? { notBefore: new Date(nbf * 1000) } : {}),
  };
}

export interface TokenCheckOptions {
  audience?: string;
  /** Least lifetime left for Fulcio to still accept it (default 10 s). */
  minValidityMs?: number;
  /** Tolerated clock difference for `nbf` (default 60 s). */
  clockSkewMs?: number;
  now?: Date;
}

/**
 * Throws TOKEN_EXPIRED (retryable: a refreshed token may be written soon) or TOKEN_REJECTED
 * (audience, not yet valid, unverified email) when Fulcio would refuse the token.
 */
export function checkIdentityToken(token: string, source: string, options: TokenCheckOptions = {}): IdentityClaims {
  const claims = identityClaims(token, source);
  const now = (options.now ?? new Date()).getTime();
  const audience = options.audience ?? SIGSTORE_AUDIENCE;
  const who = `OIDC token from ${source} (${claims.subject}, issuer ${claims.issuer})`;
  if (claims.expiresAt.getTime() - (options.minValidityMs ?? 10_000) <= now) {
    throw new SigningError('TOKEN_EXPIRED', `${who} expired at ${claims.expiresAt.toISOString()}; is the token file still being refreshed?`, {
      retryable: true,
    });
  }
  if (claims.notBefore && claims.notBefore.getTime() - (options.clockSkewMs ?? 60_000) > now) {
    throw new SigningError('TOKEN_REJECTED', `${who} is not valid before ${claims.notBefore.toISOString()}; check the clock`);
  }
  if (claims.emailVerified === false) {
    throw new SigningError('TOKEN_REJECTED', `${who} says the email is not verified: Fulcio would refuse it`);
  }
  if (!claims.audience.includes(audience)) {
    throw new SigningError('TOKEN_REJECTED', `${who} is for audience ${claims.audience.join(', ') || '(none)'}, not ${audience}: Fulcio would refuse it`);
  }
  return claims;
}
