import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
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
  const settings = loadTemporalSettings(env);
  const connection: NativeConnection = await connectToTemporal(settings);
  const client = new Client({ connection, namespace: settings.namespace });
  return { client, namespace: settings.namespace, settings, close: () => connection.close() };
}

/** An error the CLI prints as one line and exits with `exitCode` (2: bad input or usage). */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}
