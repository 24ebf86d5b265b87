// Errors raised by the signing library. `retryable` tells callers (activities)
// whether trying again later can help (network trouble) or not (bad key,
// wrong password, invalid configuration). Messages never carry key material,
// passwords or tokens.

export type SigningErrorCode =
  | 'KEY_FORMAT'
  | 'KEY_PASSWORD'
  | 'KEY_UNSUPPORTED'
  | 'CONFIG_INVALID'
  | 'TOKEN_UNAVAILABLE'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_REJECTED'
  | 'FULCIO_UNAVAILABLE'
  | 'REKOR_UNAVAILABLE'
  | 'TSA_UNAVAILABLE'
  | 'SIGNING_FAILED'
  | 'ARTIFACT_INVALID';

export class SigningError extends Error {
  override readonly name = 'SigningError';
  readonly code: SigningErrorCode;
  readonly retryable: boolean;

  constructor(code: SigningErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
