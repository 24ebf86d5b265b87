import { Client, Connection } from '@temporalio/client';
import type { PromoterConfig } from '../lib/config';

/** A Temporal client for the CLI; the caller closes the connection when done. */
export async function connectClient(config: PromoterConfig): Promise<{ client: Client; close: () => Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
  } catch (err) {
    throw new UsageError(`cannot reach Temporal at ${config.temporal.address}: ${(err as Error).message} (is the stack up? \`npm run stack -- up\`)`, 1);
  }
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return { client, close: () => connection.close() };
}

/** An error the CLI prints as one line and exits with `exitCode` (2: bad input or usage). */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}
