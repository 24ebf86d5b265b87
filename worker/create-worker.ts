/**
 * Builds a worker: the dependencies every activity shares, the activities, and the workflow
 * bundle. Used by `promoter worker`, the demo and the integration tests alike.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createMetrics } from '../activities/shared/metrics';
import { createRegistry, type RegistryTelemetry } from '../activities/shared/registry-adapter';
import type { PromoterConfig } from '../lib/config';
import { AuditStore } from '../lib/storage/audit-store';
import { WORKFLOWS_PATH } from '../workflows/location';
import { shareRegistryBudget } from './budget-share';
import { installRuntime } from './runtime';

export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The registry telemetry of the worker (tests and the bench read its request counts). */
  telemetry: RegistryTelemetry;
  /** Stops adjusting the registry budget share (call when the worker stops). */
  stopSharing: () => void;
}

export async function createWorker(config: PromoterConfig, log: Logger, opts: { taskQueue?: string } = {}): Promise<CreatedWorker> {
  const meter = installRuntime(log, config.metricsAddress);
  const store = new AuditStore(config.store);
  const { port, telemetry } = createRegistry(config);
  const metrics = meter ? createMetrics(meter, telemetry) : undefined;
  const activities = createActivities({ config, store, registry: port, log, requestsSent: telemetry.totalRequests, ...(metrics ? { metrics } : {}) });
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
  // Runs while the worker does: its polls are what the other workers count.
  const stopSharing = shareRegistryBudget(connection, config.temporal.namespace, opts.taskQueue ?? config.temporal.taskQueue, telemetry, log);
  return { worker, connection, telemetry, stopSharing };
}
