/**
 * `promoter worker` / `npm run worker`: runs one worker until SIGINT or SIGTERM, then stops
 * polling, gives the activities in flight PROMOTER_SHUTDOWN_GRACE_TIME to finish, hands the
 * others over from their checkpoints (worker/shutdown.ts) and exits.
 */
import { loadConfig } from '../lib/config';
import { createLogger } from './logger';
import { describeTemporal } from './connection';
import { createWorker } from './create-worker';
import { reexecWithWorkerHeapFlags } from './heap-flags';
import { describeDeployment } from './deployment-state';
import { startupMessage } from './startup-errors';

export async function runWorker(): Promise<void> {
  reexecWithWorkerHeapFlags();
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'promoter-worker');
  const { worker, connection, stopSharing, version, workflowOrigin, tracing, temporal } = await createWorker(config, log);
  log.info(
    {
      taskQueue: config.temporal.taskQueue,
      temporal: describeTemporal(temporal),
      deployment: version.deploymentName,
      buildId: version.buildId,
      versioning: version.versioning ? 'on' : 'off',
      workflows: workflowOrigin,
      tracing: tracing.enabled ? config.tracing.endpoint : 'off',
      shutdownGraceTime: config.shutdownGraceTime,
      // Since the process started (performance's time origin).
      startupMs: Math.round(performance.now()),
    },
    'worker started',
  );
  if (version.versioning) {
    // The version exists once this worker has polled; say so when it is not the one new runs go to.
    setTimeout(() => {
      describeDeployment(connection.workflowService, temporal.namespace, version.deploymentName)
        .then((d) => {
          if (d?.current === version.buildId) return;
          const current = d?.current ?? 'unversioned workers';
          log.warn(
            { deployment: version.deploymentName, current: d?.current ?? null, buildId: version.buildId },
            `this version is not current: new runs go to ${current}; \`promoter deployment set-current --build-id ${version.buildId}\` makes it current`,
          );
        })
        .catch((err: Error) => log.warn({ err: err.message }, 'could not read the worker deployment'));
    }, 5_000).unref();
  }
  try {
    await worker.run(); // resolves after SIGINT/SIGTERM once in-flight tasks are done or handed over
  } finally {
    await stopSharing();
    await connection.close();
    await tracing.shutdown();
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
