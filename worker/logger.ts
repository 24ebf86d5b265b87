import { pino, type Logger } from 'pino';

/**
 * The worker's logger. Redaction is a second line of defence: no code path should hand a
 * secret to the logger, but if one does, these field names never reach the output.
 */
export function createLogger(level: string, name = 'promoter'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'privateKey',
        '*.privateKey',
        'keyPassword',
        '*.keyPassword',
        'identitytoken',
        '*.identitytoken',
      ],
      censor: '[redacted]',
    },
  });
}
