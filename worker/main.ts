/**
 * `promoter worker` / `npm run worker`: runs one worker until SIGINT or SIGTERM, then lets the
 * activities in flight finish their current step (Temporal's graceful shutdown) and exits.
 */
import { loadConfig } from '../lib/config';
import { createLogger } from './logger';
import { describeTemporal } from './connection';
import { createWorker } from './create-worker';
import { startupMessage } from './startup-errors';

export async function runWorker(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'promoter-worker');
  const { worker, connection, stopSharing, temporal } = await createWorker(config, log);
  log.info({ taskQueue: config.temporal.taskQueue, temporal: describeTemporal(temporal) }, 'worker started');
  try {
    await worker.run(); // resolves after SIGINT/SIGTERM once in-flight tasks are done
  } finally {
    stopSharing();
    await connection.close();
    log.info('worker stopped');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runWorker().catch((err) => {
    const line = startupMessage(err);
    console.error(line !== undefined ? `promoter worker: ${line}` : err);
    process.exit(1);
  });
}
