/**
 * How every promoter process (worker, CLI, bench, stack scripts) reaches Temporal: the settings
 * every Temporal application reads (@temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and the `temporal.toml` profiles of the
 * `temporal` CLI), checked before the first call so a wrong certificate, CA, server name or API
 * key stops the process at start with one line that says what to change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { explainTemporalFailure } from './connection-errors';

export { describeTemporal, explainTemporalFailure } from './connection-errors';

/** Where the dev stack's server listens; also what the `temporal` CLI would try first. */
const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
const DEFAULT_TEMPORAL_NAMESPACE = 'default';
/** A Temporal that does not answer the first call within this is reported, not waited for. */
const CONNECT_CHECK_MS = 10_000;

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** For messages: the profile and file the settings came from, if any. */
  source: string;
  tls: 'off' | 'server' | 'mutual';
  apiKey: boolean;
  serverName?: string;
  /** Paths for messages (data given inline shows as "inline"). */
  serverCa?: string;
  clientCert?: string;
  /** Holds the API key and the client key: passed to connect, never logged or sent anywhere else. */
  connectionOptions: NativeConnectionOptions;
}

/** Bad connection settings: the process stops before contacting anything. */
export class TemporalSettingsError extends Error {
  override name = 'TemporalSettingsError';
}

function configFilePath(env: Record<string, string | undefined>): string | undefined {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'temporalio', 'temporal.toml');
}

/** The variables that override a profile's values, named in messages: a profile seldom explains itself alone. */
const OVERRIDES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_NAME',
];
function overriding(env: Record<string, string | undefined>): string {
  const set = OVERRIDES.filter((name) => env[name] !== undefined);
  return set.length > 0 ? ` overridden by ${set.join(', ')}` : '';
}

const describeSource = (s: ConfigDataSource | undefined): string | undefined => (s === undefined ? undefined : 'path' in s ? s.path : 'inline');

/** Names the setting a TLS file came from: the variable when it is set, else the profile key. */
function settingName(env: Record<string, string | undefined>, variable: string, tomlKey: string, profileLabel: string): string {
  return env[variable] !== undefined ? variable : `${tomlKey} (${profileLabel})`;
}

function checkReadable(source: ConfigDataSource | undefined, setting: string): void {
  if (source === undefined || !('path' in source)) return;
  try {
    readFileSync(source.path);
  } catch (err) {
    throw new TemporalSettingsError(`${setting}: cannot read ${source.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads the settings (no network). Throws TemporalSettingsError naming the variable or profile key at fault. */
export function loadTemporalSettings(env: Record<string, string | undefined> = process.env): TemporalSettings {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const file = configFilePath(env);
  const profileName = env.TEMPORAL_PROFILE;
  const fromFile = file !== undefined && existsSync(file);
  const profileLabel = fromFile ? `profile "${profileName ?? 'default'}" of ${file}` : 'TEMPORAL_* variables';
  if (/^(1|true)$/i.test(env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION ?? '')) {
    throw new TemporalSettingsError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported: set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate instead',
    );
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    const message = (err as Error).message;
    if (profileName !== undefined && /not found/i.test(message)) {
      throw new TemporalSettingsError(`TEMPORAL_PROFILE=${profileName}: no such profile in ${fromFile ? file : `${file} (the file does not exist)`}`);
    }
    throw new TemporalSettingsError(`Temporal client configuration ${file ?? ''}: ${message}`);
  }
  const tlsSettings = profile.tls;
  if ((tlsSettings?.clientCert === undefined) !== (tlsSettings?.clientKey === undefined)) {
    const [given, missing] = tlsSettings?.clientCert
      ? ['client certificate', 'TEMPORAL_TLS_CLIENT_KEY_PATH (or client_key_path)']
      : ['client key', 'TEMPORAL_TLS_CLIENT_CERT_PATH (or client_cert_path)'];
    throw new TemporalSettingsError(`a Temporal ${given} is set without its pair: set ${missing} too (${profileLabel})`);
  }
  checkReadable(tlsSettings?.serverCACert, settingName(env, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'server_ca_cert_path', profileLabel));
  checkReadable(tlsSettings?.clientCert, settingName(env, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'client_cert_path', profileLabel));
  checkReadable(tlsSettings?.clientKey, settingName(env, 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'client_key_path', profileLabel));
  if (profile.apiKey === '') throw new TemporalSettingsError(`TEMPORAL_API_KEY is set but empty (${profileLabel})`);

  const { connectionOptions, namespace } = toClientOptions(profile);
  const address = connectionOptions.address || DEFAULT_TEMPORAL_ADDRESS;
  const tls = connectionOptions.tls ? (tlsSettings?.clientCert ? 'mutual' : 'server') : 'off';
  return {
    address,
    namespace: namespace || DEFAULT_TEMPORAL_NAMESPACE,
    source: fromFile ? `${profileLabel}${overriding(env)}` : 'environment',
    tls,
    apiKey: profile.apiKey !== undefined,
    ...(tlsSettings?.serverName ? { serverName: tlsSettings.serverName } : {}),
    ...(tlsSettings?.serverCACert ? { serverCa: describeSource(tlsSettings.serverCACert) } : {}),
    ...(tlsSettings?.clientCert ? { clientCert: describeSource(tlsSettings.clientCert) } : {}),
    connectionOptions: { ...connectionOptions, address },
  };
}

/** The calls a connection check makes; both the client's and the worker's connection have them. */
interface CheckableConnection {
  workflowService: { describeNamespace(req: { namespace: string }): Promise<unknown> };
  withDeadline<T>(deadline: number | Date, fn: () => Promise<T>): Promise<T>;
}

/**
 * One real call (DescribeNamespace) under a deadline: TLS, the API key and the namespace are all
 * exercised, so a process that passes this will not fail on its first poll or start.
 */
async function checkTemporal(connection: CheckableConnection, settings: TemporalSettings, timeoutMs = CONNECT_CHECK_MS): Promise<void> {
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.describeNamespace({ namespace: settings.namespace }));
  } catch (err) {
    throw explainTemporalFailure(err, settings);
  }
}

/** A checked connection (the worker's, and the CLI's too); throws TemporalUnavailable with one clear line. */
export async function connectToTemporal(settings: TemporalSettings, timeoutMs = CONNECT_CHECK_MS): Promise<NativeConnection> {
  let connection: NativeConnection;
  try {
    connection = await withTimeout(NativeConnection.connect(settings.connectionOptions), timeoutMs);
  } catch (err) {
    throw explainTemporalFailure(err, settings, await closedAfterHandshake(err, settings));
  }
  try {
    await checkTemporal(connection, settings, timeoutMs);
  } catch (err) {
    await connection.close().catch(() => {});
    throw err;
  }
  return connection;
}

/**
 * A connection the server simply closes says little: the SDK's transport reports "connection
 * closed" or "broken pipe". Two causes are common and one handshake of Node's own tells them
 * apart: a server that refuses the client certificate (or its absence) ends the connection right
 * after the TLS 1.3 handshake, and Node names the alert it sent ("certificate required", "unknown
 * ca", "bad certificate"); a TLS server dialled without TLS answers a handshake (then "speaks TLS").
 */
async function closedAfterHandshake(err: unknown, settings: TemporalSettings): Promise<string | undefined> {
  if (!/connection closed|Canceled|broken pipe|connection reset/i.test(String((err as Error)?.message))) return undefined;
  const match = /^(.*):(\d+)$/.exec(settings.address);
  if (!match) return undefined;
  const host = match[1]!.replace(/^\[|\]$/g, '');
  const plain = settings.tls === 'off';
  const t = (typeof settings.connectionOptions.tls === 'object' ? settings.connectionOptions.tls : {}) ?? {};
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port: Number(match[2]),
      // Only asks whether TLS answers at all; nothing is sent over this connection.
      ...(plain ? { rejectUnauthorized: false } : {}),
      ...(t.serverRootCACertificate ? { ca: Buffer.from(t.serverRootCACertificate) } : {}),
      ...(t.clientCertPair ? { cert: Buffer.from(t.clientCertPair.crt), key: Buffer.from(t.clientCertPair.key) } : {}),
      ...(t.serverNameOverride ? { servername: t.serverNameOverride } : isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['h2'],
    });
    const done = (what: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done(undefined), 3_000);
    if (plain) socket.once('secureConnect', () => done('the server speaks TLS'));
    socket.once('error', (e: NodeJS.ErrnoException) => done(plain ? undefined : `${e.code ?? ''} ${e.message}`));
    socket.once('close', () => done(undefined));
  });
}

class Timeout extends Error {
  override name = 'TimeoutError';
}

function withTimeout<T extends { close(): Promise<void> }>(promise: Promise<T>, ms: number): Promise<T> {
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Timeout(`no answer within ${ms / 1000}s`));
    }, ms);
  });
  // A connection that completes after the timeout is closed instead of leaking.
  promise.then(
    (c) => (timedOut ? c.close().catch(() => {}) : undefined),
    () => {},
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
