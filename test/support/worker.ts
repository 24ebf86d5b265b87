// A real Temporal worker for integration tests, on its own task queue so test files don't steal each other's tasks.
import { randomBytes } from 'node:crypto';
import { loadConfig, type PromoterConfig } from '../../lib/config';
import { createLogger } from '../../worker/logger';
import { createWorker } from '../../worker/create-worker';
import type { RegistryTelemetry } from '../../activities/shared/registry-adapter';

export interface TestWorker {
  config: PromoterConfig;
  taskQueue: string;
  telemetry: RegistryTelemetry;
  /** Write requests (PUT, POST, PATCH, DELETE) the worker has sent so far. */
  writeRequests(): number;
  stop(): Promise<void>;
}

export async function startTestWorker(prefix = 'test', env: Record<string, string> = {}): Promise<TestWorker> {
  const taskQueue = `${prefix}-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({ ...process.env, PROMOTER_TASK_QUEUE: taskQueue, PROMOTER_LOG_LEVEL: process.env.PROMOTER_LOG_LEVEL ?? 'warn', ...env });
  const { worker, connection, telemetry, stopSharing } = await createWorker(config, createLogger(config.logLevel), { taskQueue });
  const running = worker.run();
  return {
    config,
    taskQueue,
    telemetry,
    writeRequests: () =>
      Object.values(telemetry.stats()).reduce((n, h) => n + ['PUT', 'POST', 'PATCH', 'DELETE'].reduce((m, verb) => m + (h.byMethod[verb] ?? 0), 0), 0),
    async stop() {
      worker.shutdown();
      await running;
      await stopSharing();
      await connection.close();
    },
  };
}
