/**
 * The Temporal runtime of a worker process, installed once per process: the SDK's logs go through
 * pino, and its metrics (with the promoter's own, see activities/shared/metrics.ts) are served for
 * Prometheus at PROMOTER_METRICS_ADDRESS.
 */
import type { MetricMeter } from '@temporalio/common';
import { Runtime, makeTelemetryFilterString, type LogLevel, type RuntimeOptions } from '@temporalio/worker';
import type { Logger } from 'pino';

// The one piece of module-level state the promoter has, and on purpose: Temporal's Runtime exists
// once per process, so what installing it gave back is kept with the process too. Everything else
// a worker holds is made by createWorker (the composition root) and handed down.
let installed: { meter?: MetricMeter } | undefined;

/**
 * Installs the runtime (first call wins; later calls get the same meter). Returns the metric meter
 * when a Prometheus endpoint is being served, undefined otherwise.
 */
export function installRuntime(log: Logger, metricsAddress?: string): MetricMeter | undefined {
  if (installed) return installed.meter;
  const forward = (level: LogLevel, message: string, meta?: Record<string, unknown>): void => {
    const l = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    log[l]({ ...meta, sdk: true }, message);
  };
  const options: RuntimeOptions = {
    logger: {
      log: forward,
      trace: (m, meta) => forward('TRACE', m, meta),
      debug: (m, meta) => forward('DEBUG', m, meta),
      info: (m, meta) => forward('INFO', m, meta),
      warn: (m, meta) => forward('WARN', m, meta),
      error: (m, meta) => forward('ERROR', m, meta),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  };
  if (metricsAddress) {
    try {
      Runtime.install({ ...options, telemetryOptions: { ...options.telemetryOptions, metrics: { prometheus: { bindAddress: metricsAddress } } } });
      installed = { meter: Runtime.instance().metricMeter };
      log.info({ metrics: `http://${metricsAddress}/metrics` }, 'serving metrics');
      return installed.meter;
    } catch (err) {
      // A worker that cannot serve metrics still promotes; say so loudly and go on without them.
      log.error({ metricsAddress, err: (err as Error).message }, 'metrics endpoint not started');
    }
  }
  Runtime.install(options);
  installed = {};
  return undefined;
}
