// TLS trust per registry host, the way container tools do it: a certs.d folder per host
// (containers/image and Docker use the same layout) where
//   <dir>/<host[:port]>/*.crt           are extra CA roots, trusted besides the system's;
//   <dir>/<host[:port]>/<name>.cert + <name>.key   is a client certificate.
// Folders come from PROMOTER_REGISTRY_CERTS_DIR (':'-separated), else /etc/containers/certs.d
// and /etc/docker/certs.d. Verification is always on: there is no "skip verify" here.
import { readdirSync, readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { connect as tlsConnect, rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { OciError } from './errors';
import { hostname } from './reference';

const DEFAULT_CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'] as const;

export function certsDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const value = env.PROMOTER_REGISTRY_CERTS_DIR;
  if (value === undefined || value.trim() === '') return [...DEFAULT_CERTS_DIRS];
  return value
    .split(':')
    .map((d) => d.trim())
    .filter(Boolean);
}

export interface HostTls {
  /** Roots to verify the server with: the system's plus the host's extra CAs (undefined: system only). */
  ca?: string[];
  cert?: string;
  key?: string;
  /** Files the trust came from, for error messages. */
  sources: string[];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * The TLS settings of one host ("host" or "host:port", as written in image references).
 * Every folder is read; a host folder matches the exact host:port, as in containers/image.
 */
export function loadHostTls(host: string, dirs: readonly string[]): HostTls {
  const extraCas: string[] = [];
  const sources: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const base of dirs) {
    const dir = join(base, host);
    const files = listDir(dir);
    for (const file of files) {
      if (file.endsWith('.crt')) {
        extraCas.push(readFileSync(join(dir, file), 'utf8'));
        sources.push(join(dir, file));
      } else if (file.endsWith('.cert') && cert === undefined) {
        const keyFile = `${file.slice(0, -'.cert'.length)}.key`;
        if (!files.includes(keyFile)) {
          throw new OciError({ code: 'TLS', retryable: false, registry: host, message: `client certificate ${join(dir, file)} has no matching ${keyFile}` });
        }
        cert = readFileSync(join(dir, file), 'utf8');
        key = readFileSync(join(dir, keyFile), 'utf8');
        sources.push(join(dir, file));
      }
    }
  }
  const tls: HostTls = { sources };
  if (extraCas.length > 0) tls.ca = [...rootCertificates, ...extraCas];
  if (cert !== undefined && key !== undefined) {
    tls.cert = cert;
    tls.key = key;
  }
  return tls;
}

/** Node/OpenSSL codes of a certificate the client does not accept, and what each means to a person. */
const CERTIFICATE_PROBLEMS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'a self-signed certificate that is not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'a certificate from an untrusted issuer (self-signed root in the chain)',
  UNABLE_TO_GET_ISSUER_CERT: 'a certificate from an untrusted issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'a certificate from an untrusted issuer',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'a certificate from an untrusted issuer',
  CERT_SIGNATURE_FAILURE: 'a certificate whose signature does not verify',
  CERT_HAS_EXPIRED: 'an expired certificate',
  CERT_NOT_YET_VALID: 'a certificate that is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'a certificate for another host name',
  HOSTNAME_MISMATCH: 'a certificate for another host name',
  INVALID_CA: 'an invalid CA certificate in its chain',
  CERT_REVOKED: 'a revoked certificate',
  CERT_UNTRUSTED: 'a certificate that is not trusted',
  CERT_REJECTED: 'a certificate that is rejected',
  INVALID_PURPOSE: 'a certificate not meant for a TLS server',
  // The server's side of mutual TLS: it wants a client certificate (certs.d *.cert + *.key) it trusts.
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'a demand for a client certificate, and none was sent',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'a refusal of our client certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'a refusal of our client certificate (issuer unknown to it)',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'a refusal of our client certificate',
};

/** OpenSSL codes meaning "what answered is not TLS" (a plain-HTTP server read our ClientHello). */
const NOT_TLS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST', 'EPROTO']);

function errorCode(e: unknown): string | undefined {
  // fetch wraps the socket error in `cause`; node:http and tls hand it over directly.
  const direct = (e as { code?: unknown }).code;
  const cause = (e as { cause?: { code?: unknown } }).cause?.code;
  return typeof cause === 'string' ? cause : typeof direct === 'string' ? direct : undefined;
}

/** The server does not speak TLS at all (so a plain-HTTP retry is the right next step on loopback). */
export function isNotTlsError(e: unknown): boolean {
  const code = errorCode(e);
  if (code !== undefined && NOT_TLS.has(code)) {
    // EPROTO is generic: accept it only with OpenSSL's "wrong version number" text.
    if (code !== 'EPROTO') return true;
    const causeMessage = (e as { cause?: { message?: unknown } }).cause?.message;
    const message = typeof causeMessage === 'string' ? causeMessage : String((e as Error).message);
    return /wrong version number|packet length too long|http request/i.test(message);
  }
  return false;
}

/**
 * A certificate the client refuses, turned into a non-retryable OciError naming the host and what
 * is wrong with it; undefined for any other error.
 */
export function certificateError(e: unknown, host: string, tls?: HostTls): OciError | undefined {
  const code = errorCode(e);
  if (code === undefined) return undefined;
  const problem = CERTIFICATE_PROBLEMS[code];
  if (problem === undefined) return undefined;
  const trusted = tls?.sources.some((s) => s.endsWith('.crt'))
    ? `trusted CAs for it: ${tls.sources.filter((s) => s.endsWith('.crt')).join(', ')}`
    : `no extra CA for it in any certs.d folder (put its CA in <certs.d>/${host}/ca.crt, folders from PROMOTER_REGISTRY_CERTS_DIR)`;
  return new OciError({
    code: 'TLS',
    retryable: false,
    registry: host,
    message: `TLS to ${host} failed: the server presented ${problem} (${code}); ${trusted}`,
    cause: e,
  });
}

/**
 * Opens a TLS connection and closes it again: 'tls' when the handshake succeeds, 'plain' when the
 * server does not speak TLS; a refused certificate throws a TLS OciError, anything else (refused
 * connection, timeout) throws the socket error for the caller to treat as a network error.
 */
export function probeTls(host: string, tls: HostTls, timeoutMs: number, lookup?: LookupFunction): Promise<'tls' | 'plain'> {
  const name = hostname(host);
  const port = Number(host.slice(host.lastIndexOf(':') + 1)) || 443;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: name,
      port,
      ...(/^[\d.]+$|:/.test(name) ? {} : { servername: name }),
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
      ALPNProtocols: ['http/1.1'],
      ...(lookup ? { lookup } : {}),
    });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`TLS handshake with ${host} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
    timer.unref();
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.end();
      resolve('tls');
    });
    socket.once('error', (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (isNotTlsError(err)) resolve('plain');
      else reject(certificateError(err, host, tls) ?? err);
    });
  });
}
