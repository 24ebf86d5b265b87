// Structured registry errors. Messages name the registry, repository and
// operation but never a credential, token or Authorization header.

export type OciErrorCode =
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'NAME_UNKNOWN'
  | 'NAME_INVALID'
  | 'TAG_INVALID'
  | 'SIZE_INVALID'
  | 'DENIED'
  | 'UNAUTHORIZED'
  | 'TOOMANYREQUESTS'
  | 'DIGEST_MISMATCH'
  | 'TIMEOUT'
  | 'NETWORK'
  | 'UNSUPPORTED'
  | 'INSECURE'
  /** A certificate the client refuses (untrusted issuer, wrong host name, expired): never retried. */
  | 'TLS'
  /** A host the operator does not allow (PROMOTER_ALLOWED_REGISTRIES, or a refused kind of address): never retried. */
  | 'HOST_NOT_ALLOWED'
  /** An answer over one of the client's read limits: never retried. */
  | 'TOO_LARGE'
  /** A redirect the client does not follow (a write, a downgrade to plain HTTP, too many hops). */
  | 'REDIRECT_REFUSED'
  /** A conditional write (If-Match / If-None-Match) found the tag changed since it was read: nothing was written. */
  | 'PRECONDITION_FAILED'
  | 'SERVER_ERROR'
  | 'INVALID_RESPONSE'
  | 'UNKNOWN';

const KNOWN_CODES = new Set<string>([
  'MANIFEST_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'NAME_UNKNOWN',
  'NAME_INVALID',
  'TAG_INVALID',
  'SIZE_INVALID',
  'DENIED',
  'UNAUTHORIZED',
  'TOOMANYREQUESTS',
  'UNSUPPORTED',
]);

export interface OciErrorInit {
  code: OciErrorCode;
  message: string;
  status?: number;
  retryable?: boolean;
  registry?: string;
  repository?: string;
  detail?: unknown;
  cause?: unknown;
  retryAfterMs?: number;
}

export class OciError extends Error {
  override name = 'OciError';
  readonly code: OciErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly registry?: string;
  readonly repository?: string;
  readonly detail?: unknown;
  /** The registry's Retry-After, when it asked for a pause longer than we wait inside one call. */
  readonly retryAfterMs?: number;

  constructor(init: OciErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    if (init.status !== undefined) this.status = init.status;
    this.retryable = init.retryable ?? defaultRetryable(init.code, init.status);
    if (init.registry !== undefined) this.registry = init.registry;
    if (init.repository !== undefined) this.repository = init.repository;
    if (init.detail !== undefined) this.detail = init.detail;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      retryable: this.retryable,
      registry: this.registry,
      repository: this.repository,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

export function isOciError(e: unknown, code?: OciErrorCode): e is OciError {
  return e instanceof OciError && (code === undefined || e.code === code);
}

function defaultRetryable(code: OciErrorCode, status?: number): boolean {
  if (code === 'TOOMANYREQUESTS' || code === 'TIMEOUT' || code === 'NETWORK') return true;
  if (code === 'SERVER_ERROR') return status === undefined || status >= 500;
  return false;
}

export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Parse the `{"errors":[{code,message,detail}]}` body registries send. */
export function parseErrorBody(body: string): RegistryErrorEntry[] {
  if (!body) return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && Array.isArray((parsed as { errors?: unknown }).errors)) {
      return (parsed as { errors: unknown[] }).errors
        .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string')
        .map((e) => {
          const entry: RegistryErrorEntry = { code: String(e.code).toUpperCase() };
          if (typeof e.message === 'string') entry.message = e.message;
          if (e.detail !== undefined && e.detail !== null) entry.detail = e.detail;
          return entry;
        });
    }
  } catch {
    // not JSON: many proxies answer HTML; the status decides then
  }
  return [];
}

function codeForStatus(status: number): OciErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status === 404) return 'NAME_UNKNOWN';
  if (status === 405) return 'UNSUPPORTED';
  if (status >= 500) return 'SERVER_ERROR';
  return 'UNKNOWN';
}

export interface ErrorContext {
  registry: string;
  repository?: string;
  operation: string;
}

/** Build an OciError from a non-success response and its (already read) body. */
export function errorFromResponse(status: number, body: string, ctx: ErrorContext): OciError {
  const entries = parseErrorBody(body);
  const first = entries[0];
  let code: OciErrorCode;
  if (first && KNOWN_CODES.has(first.code)) code = first.code as OciErrorCode;
  else if (status === 404 && ctx.operation.includes('manifest')) code = 'MANIFEST_UNKNOWN';
  else if (status === 404 && ctx.operation.includes('blob')) code = 'BLOB_UNKNOWN';
  else code = codeForStatus(status);
  // A 5xx is retryable whatever the body says; a 4xx registry code is not (except 429).
  const retryable = status === 429 || status >= 500;
  const where = ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry;
  const said = first?.message ? `: ${first.message}` : '';
  const init: OciErrorInit = {
    code,
    status,
    retryable,
    registry: ctx.registry,
    message: `${ctx.operation} on ${where} failed with HTTP ${status} ${code}${said}`,
  };
  if (ctx.repository !== undefined) init.repository = ctx.repository;
  if (first?.detail !== undefined) init.detail = first.detail;
  return new OciError(init);
}
