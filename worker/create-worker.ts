/**
 * Builds a worker: the dependencies every activity shares, the activities, and the workflow
 * bundle. Used by `promoter worker`, the demo and the integration tests alike.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createMetrics } from '../activities/shared/metrics';
import { createRegistryOps, type RegistryOps } from '../activities/shared/registry-port';
import type { PromoterConfig } from '../lib/config';
import { AuditStore } from '../lib/storage/audit-store';
import { WORKFLOWS_PATH } from '../workflows/location';
import { shareRegistryBudget } from './budget-share';
import { installRuntime } from './runtime';

export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The registry operations the activities share (tests read its request counts). */
  registry: RegistryOps;
  /** Stops adjusting the registry budget share (call when the worker stops). */
  stopSharing: () => void;
}

export async function createWorker(config: PromoterConfig, log: Logger, opts: { taskQueue?: string } = {}): Promise<CreatedWorker> {
  const meter = installRuntime(log, config.metricsAddress);
  const store = new AuditStore(config.store);
  const registry = createRegistryOps(config, log);
  const metrics = meter ? createMetrics(meter, registry) : undefined;
  const activities = createActivities({ config, store, registry, log, ...(metrics ? { metrics } : {}) });
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
  const stopSharing = shareRegistryBudget(connection, config.temporal.namespace, opts.taskQueue ?? config.temporal.taskQueue, registry, log);
  return { worker, connection, registry, stopSharing };
}
