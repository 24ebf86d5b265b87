/**
 * Builds a worker: the dependencies every activity shares, the activities, and the workflow
 * bundle. Used by `promoter worker`, the demo and the integration tests alike.
 */
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createMetrics } from '../activities/shared/metrics';
import { createRegistry, type RegistryTelemetry } from '../activities/shared/registry-adapter';
import type { PromoterConfig } from '../lib/config';
import { AuditStore } from '../lib/storage/audit-store';
import { WORKFLOWS_PATH } from '../workflows/location';
import { shareRegistryBudget } from './budget-share';
import { connectToTemporal, loadTemporalSettings, type TemporalSettings } from './connection';
import { installRuntime } from './runtime';

export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The registry telemetry of the worker (tests and the bench read its request counts). */
  telemetry: RegistryTelemetry;
  /** Stops adjusting the registry budget share (call when the worker stops). */
  stopSharing: () => void;
  /** Where the worker polls (names no secret: describeTemporal prints it). */
  temporal: TemporalSettings;
}

export interface CreateWorkerOptions {
  taskQueue?: string;
  /** Temporal connection settings; default: read from the environment (worker/connection.ts). */
  temporal?: TemporalSettings;
}

export async function createWorker(config: PromoterConfig, log: Logger, opts: CreateWorkerOptions = {}): Promise<CreatedWorker> {
  const temporal = opts.temporal ?? loadTemporalSettings();
  const meter = installRuntime(log, config.metricsAddress);
  const store = new AuditStore(config.store);
  const { port, telemetry } = createRegistry(config);
  const metrics = meter ? createMetrics(meter, telemetry) : undefined;
  const activities = createActivities({ config, store, registry: port, log, requestsSent: telemetry.totalRequests, ...(metrics ? { metrics } : {}) });
  // Checked before the worker polls: without S3 credentials every phase would fail, and bad TLS
  // material, API key or namespace stop it here, in seconds, not at its first task.
  await store.checkCredentials();
  const connection = await connectToTemporal(temporal);
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities,
    // Phases are I/O bound and each one already fans out inside; a few at once is plenty.
    maxConcurrentActivityTaskExecutions: 8,
    bundlerOptions: { ignoreModules: [] },
  });
  // Runs while the worker does: its polls are what the other workers count.
  const stopSharing = shareRegistryBudget(connection, temporal.namespace, opts.taskQueue ?? config.temporal.taskQueue, telemetry, log);
  return { worker, connection, telemetry, stopSharing, temporal };
}
