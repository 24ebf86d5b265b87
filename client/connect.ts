import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import { connectToTemporal, loadTemporalSettings, type TemporalSettings } from '../worker/connection';

export interface ConnectedClient {
  client: Client;
  /** The namespace the client works in (TEMPORAL_NAMESPACE or the profile's). */
  namespace: string;
  settings: TemporalSettings;
  close: () => Promise<void>;
}

/**
 * A Temporal client for the CLI, connected and checked the same way as the worker (one real call
 * under a deadline), so bad settings fail in seconds with one line. The caller closes it.
 * The connection is the SDK's native one: it names the TLS failure (unknown issuer, wrong name,
 * refused client certificate) where the other one only reports a missed deadline.
 */
export async function connectClient(env: Record<string, string | undefined> = process.env): Promise<ConnectedClient> {
  quietSdkLogs(env);
  const settings = loadTemporalSettings(env);
  const connection: NativeConnection = await connectToTemporal(settings);
  const client = new Client({ connection, namespace: settings.namespace });
  return { client, namespace: settings.namespace, settings, close: () => connection.close() };
}

/**
 * The SDK's native client logs ("start_workflow_execution retried 5 times" while a cluster
 * recovers, TLS handshake details) would otherwise go to stdout, into the middle of a `--json`
 * document, and a failing command says what is wrong in one line of its own. So the CLI keeps them
 * out by default; PROMOTER_SDK_LOG_LEVEL (TRACE, DEBUG, INFO, WARN or ERROR) shows them on stderr.
 * The runtime is the process's own: the first install wins.
 */
export function quietSdkLogs(env: Record<string, string | undefined> = process.env): void {
  if (Runtime._instance) return;
  const wanted = env.PROMOTER_SDK_LOG_LEVEL?.toUpperCase();
  const level: LogLevel = SDK_LOG_LEVELS.includes(wanted as LogLevel) ? (wanted as LogLevel) : 'ERROR';
  const logger = new DefaultLogger(level, wanted ? undefined : () => {});
  Runtime.install({ logger, telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: level }) } } });
}

const SDK_LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** An error the CLI prints as one line and exits with `exitCode` (2: bad input or usage). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}
