/**
 * The one line a process (the CLI, `promoter worker`) prints when its environment is not set up:
 * Temporal or S3 settings missing, wrong or unreachable. Each says what to set; DEV_STACK_HINT
 * tells how to load the dev stack's settings into a fresh shell.
 */
import { AuditStoreCredentialsMissing, AuditStoreUnavailable } from '../lib/storage/audit-store';
import { DEV_STACK_HINT, TemporalUnavailable } from './connection-errors';
import { TemporalSettingsError } from './connection';

const withHint = (message: string) => (message.includes(DEV_STACK_HINT) ? message : `${message}; ${DEV_STACK_HINT}`);

/** The line to print for a set-up failure, or undefined for any other error. */
export function startupMessage(err: unknown): string | undefined {
  if (err instanceof TemporalUnavailable || err instanceof TemporalSettingsError) return err.message;
  if (err instanceof AuditStoreCredentialsMissing) return withHint(err.message);
  if (err instanceof AuditStoreUnavailable) {
    const endpoint = process.env.PROMOTER_S3_ENDPOINT
      ? `at ${process.env.PROMOTER_S3_ENDPOINT} (PROMOTER_S3_ENDPOINT)`
      : '(AWS S3: PROMOTER_S3_ENDPOINT is not set)';
    return withHint(`S3 does not answer ${endpoint}: ${err.message}`);
  }
  return undefined;
}
