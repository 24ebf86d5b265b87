/**
 * Turns what the Temporal SDK (Core's tonic/rustls transport) reports on a failed connection into
 * one line a user can act on: what went wrong and which setting changes it.
 */
import type { TemporalSettings } from './connection';

export const DEV_STACK_HINT = 'for the dev stack: eval "$(npm run -s stack -- env)"';

/** The process cannot use Temporal with these settings; the message says why and what to set. */
export class TemporalUnavailable extends Error {
  override name = 'TemporalUnavailable';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

interface Rule {
  test: RegExp;
  explain(s: TemporalSettings): string;
}

const where = (s: TemporalSettings) => `Temporal at ${s.address}`;
/** The settings in brackets, for messages and logs; names no secret. */
const settingsNote = (s: TemporalSettings) => {
  const tls = s.tls === 'off' ? 'no TLS' : s.tls === 'mutual' ? `mTLS with ${s.clientCert}` : 'TLS';
  const extra = [s.serverCa ? `CA ${s.serverCa}` : undefined, s.serverName ? `server name ${s.serverName}` : undefined, s.apiKey ? 'API key' : undefined];
  return `[namespace ${s.namespace}, ${[tls, ...extra].filter(Boolean).join(', ')}; settings from ${s.source}]`;
};

/** One line for logs and messages: the address and the settings in use; names no secret. */
export const describeTemporal = (s: TemporalSettings): string => `${s.address} ${settingsNote(s)}`;

// Order matters: the first rule whose pattern is in the error's text (message and causes) wins.
const RULES: Rule[] = [
  {
    test: /NotValidForName|ERR_TLS_CERT_ALTNAME|not valid for name|Hostname\/IP does not match/i,
    explain: (s) =>
      `${where(s)} presented a certificate that is not valid for ${s.serverName ?? s.address.replace(/:\d+$/, '')}: ` +
      'set TEMPORAL_TLS_SERVER_NAME to a name the certificate carries',
  },
  {
    test: /Expired|CERT_HAS_EXPIRED|NotValidYet/,
    explain: (s) => `${where(s)} presented an expired (or not yet valid) certificate`,
  },
  {
    test: /UnknownIssuer|BadSignature|UNABLE_TO_VERIFY|SELF_SIGNED|self[- ]signed|certificate verify failed|unable to get local issuer/i,
    explain: (s) =>
      `${where(s)} presented a certificate that no trusted CA signed: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that issued it` +
      (s.serverCa ? ` (${s.serverCa} did not)` : ' (only the system CAs are trusted now)'),
  },
  {
    test: /InvalidContentType|wrong version number|InvalidMessage|packet length too long/i,
    explain: (s) => `${where(s)} does not speak TLS: drop the TEMPORAL_TLS_* settings and TEMPORAL_API_KEY for it, or point TEMPORAL_ADDRESS at its TLS port`,
  },
  {
    test: /CertificateRequired|certificate required|BadCertificate|bad certificate|UnknownCA|unknown ca|DecryptError|AccessDenied/i,
    explain: (s) =>
      s.tls === 'mutual'
        ? `${where(s)} refused the client certificate ${s.clientCert}: it accepts only certificates from its own client CA ` +
          '(TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)'
        : `${where(s)} requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH`,
  },
  {
    test: /speaks TLS|FRAME_SIZE_ERROR|GoAway|http2 error|PROTOCOL_ERROR|Http2/,
    explain: (s) =>
      s.tls === 'off'
        ? `${where(s)} did not answer plain gRPC (does it require TLS?): set TEMPORAL_TLS=true and TEMPORAL_TLS_SERVER_CA_CERT_PATH, or a TEMPORAL_PROFILE that has them`
        : `${where(s)} broke off the gRPC exchange`,
  },
  {
    test: /Unauthenticated|401 Unauthorized|code: 16\b|invalid api key|api key/i,
    explain: (s) =>
      s.apiKey
        ? `${where(s)} refused the API key (TEMPORAL_API_KEY or api_key of the profile)`
        : `${where(s)} requires credentials: set TEMPORAL_API_KEY, or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)`,
  },
  {
    test: /PermissionDenied|Permission ?denied|403 Forbidden|code: 7\b/i,
    explain: (s) => `${where(s)} denied these credentials access to namespace ${s.namespace}`,
  },
  {
    test: /Namespace .* is not found|namespace not found|NamespaceNotFound/i,
    explain: (s) => `${where(s)} has no namespace "${s.namespace}": set TEMPORAL_NAMESPACE (or create it: temporal operator namespace create ${s.namespace})`,
  },
  {
    test: /ConnectionRefused|Connection refused|ECONNREFUSED|tcp connect error|dns error|failed to lookup address|ENOTFOUND|EAI_AGAIN|No route to host|EHOSTUNREACH|ENETUNREACH|unreachable/i,
    explain: (s) =>
      `${where(s)} is not reachable (nothing answers there): start it, or set TEMPORAL_ADDRESS or TEMPORAL_PROFILE; ${DEV_STACK_HINT} after \`npm run stack -- up\``,
  },
  {
    test: /TimeoutError|DEADLINE_EXCEEDED|Deadline Exceeded|deadline has elapsed|before the deadline|timed out|no answer within/i,
    explain: (s) => `${where(s)} did not answer in time: check TEMPORAL_ADDRESS (or TEMPORAL_PROFILE) and that the server is up`,
  },
];

/** The message and every cause, for matching. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { name?: unknown; message?: unknown; code?: unknown; details?: unknown; cause?: unknown };
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- text to match against: whatever a field holds is stringified as is
    parts.push(String(e.name ?? ''), String(e.message ?? current), e.code !== undefined ? `code: ${String(e.code)}` : '', String(e.details ?? ''));
    current = e.cause;
  }
  return parts.join(' ');
}

/**
 * One line naming the address, what failed and which setting to change; never the API key or
 * client key. `seen` adds what a diagnosis found (the TLS alert the server sent).
 */
export function explainTemporalFailure(err: unknown, settings: TemporalSettings, seen?: string): TemporalUnavailable {
  if (err instanceof TemporalUnavailable) return err;
  const text = `${seen ?? ''} ${errorText(err)}`;
  const rule = RULES.find((r) => r.test.test(text));
  const what = rule ? rule.explain(settings) : `cannot use ${where(settings)}: ${(err as Error)?.message ?? String(err)}`;
  return new TemporalUnavailable(`${what} ${settingsNote(settings)}`, { cause: err });
}
