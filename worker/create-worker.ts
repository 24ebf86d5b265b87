/**
 * Builds a worker: the dependencies every activity shares, the activities, the workflow code
 * (worker/workflow-source.ts), its deployment version, graceful shutdown and tracing. Used by
 * `promoter worker`, the demo and the integration tests alike.
 */
import { hostname } from 'node:os';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createMetrics } from '../activities/shared/metrics';
import { createRegistry, type RegistryTelemetry } from '../activities/shared/registry-adapter';
import type { PromoterConfig } from '../lib/config';
import { AuditStore } from '../lib/storage/audit-store';
import { shareRegistryBudget } from './budget-share';
import { buildIdentity, type BuildIdentity } from './build-identity';
import { connectToTemporal, loadTemporalSettings, type TemporalSettings } from './connection';
import { installRuntime } from './runtime';
import { handOverOnShutdown, SHUTDOWN_FORCE_MARGIN_MS } from './shutdown';
import { setUpTracing, type Tracing } from './tracing';
import { workflowSource, type WorkflowSource } from './workflow-source';

export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  /** The registry telemetry of the worker (tests and the bench read its request counts). */
  telemetry: RegistryTelemetry;
  /** Stops leasing the registry budget share and gives it back (call when the worker stops). */
  stopSharing: () => Promise<void>;
  /** The deployment version this worker reports (and, with versioning on, is routed by). */
  version: BuildIdentity & { versioning: boolean };
  workflowOrigin: WorkflowSource['origin'];
  tracing: Tracing;
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
  const activities = createActivities({ config, store, registry: port, log, requestsSent: () => telemetry.totalRequests(), ...(metrics ? { metrics } : {}) });
  const identity = buildIdentity({ deploymentName: config.deployment.name, buildId: config.deployment.buildId });
  const version = { ...identity, versioning: config.deployment.versioning };
  const source = workflowSource();
  const tracing = setUpTracing(config, telemetry, { version: version.buildId, instance: `${process.pid}@${hostname()}` });
  // Checked before the worker polls: without S3 credentials every phase would fail, and bad TLS
  // material, API key or namespace stop it here, in seconds, not at its first task.
  await store.checkCredentials();
  const connection = await connectToTemporal(temporal);
  const taskQueue = opts.taskQueue ?? config.temporal.taskQueue;
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue,
    ...(source.workflowBundle ? { workflowBundle: source.workflowBundle } : { workflowsPath: source.workflowsPath, bundlerOptions: source.bundlerOptions }),
    activities,
    interceptors: {
      // Tracing outermost, so an activity's span also covers its hand-over at shutdown.
      activity: [...tracing.activityInterceptors, handOverOnShutdown],
      ...(source.interceptorModules ? { workflowModules: source.interceptorModules } : {}),
    },
    sinks: tracing.sinks,
    shutdownGraceTime: config.shutdownGraceTime,
    shutdownForceTime: msToNumber(config.shutdownGraceTime) + SHUTDOWN_FORCE_MARGIN_MS,
    ...(version.versioning
      ? {
          // Promotion runs are pinned to the version they started on (workflows/ say which are not).
          workerDeploymentOptions: {
            version: { deploymentName: version.deploymentName, buildId: version.buildId },
            useWorkerVersioning: true,
            defaultVersioningBehavior: 'PINNED' as const,
          },
        }
      : {}),
    // Phases are I/O bound and each one already fans out inside; a few at once is plenty.
    maxConcurrentActivityTaskExecutions: 8,
  });
  // Leased while the worker runs: busy while it runs an activity, so idle workers leave theirs to busy ones.
  const sharing = shareRegistryBudget(
    { connection, namespace: temporal.namespace, taskQueue, worker: worker.options.identity, busy: () => worker.getStatus().numInFlightActivities > 0 },
    telemetry,
    log,
  );
  return { worker, connection, telemetry, stopSharing: sharing.stop, version, workflowOrigin: source.origin, tracing, temporal };
}
