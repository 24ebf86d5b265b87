// The promoter side of the bench: a real worker in this process (own task queue), runs started
// with the real `promoter run` command code, timed from the command's start to its report.
import { randomBytes } from 'node:crypto';
import { runCommand } from '../../client/commands/run';
import type { Output } from '../../client/output';
import { loadConfig, type PromoterConfig } from '../../lib/config';
import type { RunReport } from '../../lib/run/report';
import { createLogger } from '../../worker/logger';
import { createWorker } from '../../worker/create-worker';
import type { RegistryTelemetry } from '../../activities/shared/registry-adapter';
import { RequestProbe, sampleMemory, statsDelta, type MemoryPeak, type RequestBreakdown } from './probe';

export interface BenchWorker {
  config: PromoterConfig;
  taskQueue: string;
  telemetry: RegistryTelemetry;
  probe: RequestProbe;
  stop(): Promise<void>;
}

export async function startBenchWorker(): Promise<BenchWorker> {
  const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
  // runCommand reads the task queue from the environment, like the CLI does.
  process.env.PROMOTER_TASK_QUEUE = taskQueue;
  process.env.PROMOTER_LOG_LEVEL ??= 'warn';
  const config = loadConfig();
  const { worker, connection, telemetry, stopSharing } = await createWorker(config, createLogger(config.logLevel, 'promoter-bench-worker'), { taskQueue });
  const probe = new RequestProbe(telemetry);
  const running = worker.run();
  return {
    config,
    taskQueue,
    telemetry,
    probe,
    async stop() {
      worker.shutdown();
      await running;
      stopSharing();
      await connection.close();
    },
  };
}

export interface PromotionMeasurement {
  exitCode: number;
  report: RunReport;
  wallMs: number;
  /** Raw HTTP requests per registry host and method (the client's own counters; auth rounds and token fetches included). */
  http: Record<string, { total: number; byMethod: Record<string, number>; retries: number; throttled: number }>;
  /** Logical registry calls per phase (activity type) and operation. */
  calls: RequestBreakdown;
  memory: MemoryPeak;
  maxRssBytes: number;
}

/** `promoter run --manifest FILE --confirm --wait --json [--verify-tags]`, measured. */
export async function measurePromotion(w: BenchWorker, manifestFile: string, opts: { verifyTags?: boolean } = {}): Promise<PromotionMeasurement> {
  let report: RunReport | undefined;
  const out: Output = { print: () => undefined, info: () => undefined, json: (v) => (report = v as RunReport) };
  w.probe.take();
  const before = w.telemetry.stats();
  const mem = sampleMemory(100);
  const started = performance.now();
  const exitCode = await runCommand({ manifest: manifestFile, confirm: true, wait: true, json: true, ...(opts.verifyTags ? { verifyTags: true } : {}) }, out);
  const wallMs = performance.now() - started;
  const memory = mem.stop();
  if (!report) throw new Error(`promoter run printed no report (exit ${exitCode})`);
  return {
    exitCode,
    report,
    wallMs,
    http: statsDelta(before, w.telemetry.stats()),
    calls: w.probe.take(),
    memory,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
