/**
 * Builds a worker: the dependencies every activity shares, the activities, and the workflow
 * bundle. Used by `promoter worker`, the demo and the integration tests alike.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createRegistryOps, type RegistryOps } from '../activities/registry-ops';
import type { PromoterConfig } from '../lib/config';
import { AuditStore } from '../lib/storage/audit-store';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

let runtimeInstalled = false;

/** Route the Temporal SDK's own logs through pino, once per process. */
export function installRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const forward = (level: LogLevel, message: string, meta?: Record<string, unknown>): void => {
    const l = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    log[l]({ ...meta, sdk: true }, message);
  };
  Runtime.install({
    logger: {
      log: forward,
      trace: (m, meta) => forward('TRACE', m, meta),
      debug: (m, meta) => forward('DEBUG', m, meta),
      info: (m, meta) => forward('INFO', m, meta),
      warn: (m, meta) => forward('WARN', m, meta),
      error: (m, meta) => forward('ERROR', m, meta),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
}

export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The registry operations the activities share (tests read its request counts). */
  registry: RegistryOps;
}

export async function createWorker(config: PromoterConfig, log: Logger, opts: { taskQueue?: string } = {}): Promise<CreatedWorker> {
  installRuntime(log);
  const store = new AuditStore(config.store);
  const registry = createRegistryOps(config, log);
  const activities = createActivities({ config, store, registry, log });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities,
    // Phases are I/O bound and each one already fans out inside; a few at once is plenty.
    maxConcurrentActivityTaskExecutions: 8,
    bundlerOptions: { ignoreModules: [] },
  });
  return { worker, connection, registry };
}
