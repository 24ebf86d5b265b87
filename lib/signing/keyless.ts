// Keyless signing: an ephemeral key certified by Fulcio for an OIDC identity,
// the signature witnessed by Rekor and/or a timestamp authority. All URLs are
// configurable (private sigstore deployments); nothing defaults to the public
// instance, so a misconfigured run cannot publish to the public log.
import { FulcioSigner, InternalError, RekorWitness, TSAWitness, type IdentityProvider, type Witness } from '@sigstore/sign';
import { z } from 'zod';
import { SigningError, type SigningErrorCode } from './errors';
import { SIGSTORE_AUDIENCE, checkIdentityToken, readIdentityToken } from './identity-token';
import { rekorV2Witness } from './rekor-v2';

const httpUrl = z.url({ protocol: /^https?$/ });

const KeylessConfigSchema = z
  .strictObject({
    fulcioURL: httpUrl,
    rekorURL: httpUrl.optional(),
    /** Rekor v2 (tiles, the current public log) or v1. */
    rekorApiVersion: z.union([z.literal(1), z.literal(2)]).default(2),
    tsaURL: httpUrl.optional(),
    /** The audience Fulcio expects in the token. */
    audience: z.string().min(1).default(SIGSTORE_AUDIENCE),
    /** `env:NAME` (variable holding the token) or `file:PATH` (re-read on every signing: tokens rotate). */
    oidcTokenSource: z.string().regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be env:NAME or file:PATH'),
    timeoutMs: z.number().int().positive().default(10_000),
    /** Retries inside sigstore-js per request; activities retry on top. */
    retries: z.number().int().min(0).max(5).default(0),
  })
  .refine((c) => c.rekorURL !== undefined || c.tsaURL !== undefined, {
    message: 'keyless signing needs rekorURL or tsaURL: a Fulcio certificate lives minutes, a verifier needs a trusted time',
  });

export type KeylessConfig = z.output<typeof KeylessConfigSchema>;
export type KeylessConfigInput = z.input<typeof KeylessConfigSchema>;

export function keylessConfig(input: KeylessConfigInput): KeylessConfig {
  const parsed = KeylessConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new SigningError('CONFIG_INVALID', `keyless signing configuration: ${issues}`);
  }
  return parsed.data;
}

/**
 * Reads the OIDC token afresh for every certificate (token files rotate) and refuses an expired or
 * wrong-audience one before Fulcio is asked. Errors name the source, never the token.
 */
export function tokenProvider(source: string, audience: string = SIGSTORE_AUDIENCE): IdentityProvider {
  return {
    getToken: async () => {
      const token = await readIdentityToken(source);
      checkIdentityToken(token, source, { audience });
      return token;
    },
  };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function rootCause(err: unknown): { code?: string; status?: number } {
  let e = err as { code?: unknown; statusCode?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 6; depth++) {
    if (typeof e.statusCode === 'number') return { status: e.statusCode };
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return { code: e.code };
    e = e.cause as typeof e;
  }
  return {};
}

/** Maps sigstore-js failures to SigningError without copying their messages (they may quote the token). */
export function toSigningError(err: unknown, config: KeylessConfig): SigningError {
  if (err instanceof SigningError) return err;
  const internal = err instanceof InternalError ? err : undefined;
  const cause = rootCause(internal?.cause ?? err);
  const retryable = cause.code !== undefined || (cause.status !== undefined && (cause.status >= 500 || cause.status === 429 || cause.status === 408));
  const why = cause.code ?? (cause.status !== undefined ? `HTTP ${cause.status}` : 'error');
  const map: Record<string, [SigningErrorCode, string]> = {
    CA_CREATE_SIGNING_CERTIFICATE_ERROR: ['FULCIO_UNAVAILABLE', `Fulcio at ${config.fulcioURL}`],
    TLOG_CREATE_ENTRY_ERROR: ['REKOR_UNAVAILABLE', `Rekor at ${config.rekorURL}`],
    TLOG_FETCH_ENTRY_ERROR: ['REKOR_UNAVAILABLE', `Rekor at ${config.rekorURL}`],
    TSA_CREATE_TIMESTAMP_ERROR: ['TSA_UNAVAILABLE', `timestamp authority at ${config.tsaURL}`],
    IDENTITY_TOKEN_READ_ERROR: ['TOKEN_UNAVAILABLE', `OIDC token from ${config.oidcTokenSource}`],
    IDENTITY_TOKEN_PARSE_ERROR: ['TOKEN_UNAVAILABLE', `OIDC token from ${config.oidcTokenSource} (unparseable)`],
  };
  if (internal?.code === 'IDENTITY_TOKEN_READ_ERROR' && internal.cause instanceof SigningError) return internal.cause;
  // Fulcio answers 400/401/403 when it does not accept the identity token (unknown issuer, bad
  // signature, audience, expiry, unverified email): say so rather than "Fulcio failed".
  if (internal?.code === 'CA_CREATE_SIGNING_CERTIFICATE_ERROR' && (cause.status === 400 || cause.status === 401 || cause.status === 403)) {
    return new SigningError(
      'TOKEN_REJECTED',
      `Fulcio at ${config.fulcioURL} refused the OIDC token from ${config.oidcTokenSource} (HTTP ${cause.status}): is its issuer one Fulcio trusts, and its identity verified?`,
    );
  }
  const [code, what] = (internal && map[internal.code]) ?? ['SIGNING_FAILED', 'keyless signing'];
  return new SigningError(code, `${what} failed: ${why}`, { retryable });
}

/** A Fulcio signer (a fresh ephemeral key) and the configured witnesses (Rekor, TSA). */
export function keylessParts(config: KeylessConfig): { signer: FulcioSigner; witnesses: Witness[] } {
  const fetchOptions = { timeout: config.timeoutMs, retry: config.retries };
  const signer = new FulcioSigner({
    fulcioBaseURL: config.fulcioURL,
    identityProvider: tokenProvider(config.oidcTokenSource, config.audience),
    ...fetchOptions,
  });
  const witnesses: Witness[] = [];
  if (config.rekorURL) {
    witnesses.push(
      config.rekorApiVersion === 2
        ? rekorV2Witness({ rekorBaseURL: config.rekorURL, ...fetchOptions })
        : new RekorWitness({ rekorBaseURL: config.rekorURL, entryType: 'dsse', ...fetchOptions }),
    );
  }
  if (config.tsaURL) witnesses.push(new TSAWitness({ tsaBaseURL: config.tsaURL, ...fetchOptions }));
  return { signer, witnesses };
}
