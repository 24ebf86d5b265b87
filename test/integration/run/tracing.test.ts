// OpenTelemetry: a worker with OTEL_EXPORTER_OTLP_ENDPOINT exports a promotion as one trace: the
// workflow's span, a span per phase (activity) and Promote batch, and under them a span per
// registry request, all in one tree. Received by an in-process OTLP/HTTP receiver.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { seedImageSet } from '../../support/image-set';
import { OtlpReceiver } from '../../support/otlp-receiver';
import { stack } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess } from '../../support/worker-process';

const runs = useTemporal();
const taskQueue = `tracing-${randomBytes(4).toString('hex')}`;
const PHASES = ['setup', 'plan', 'provenance', 'validate', 'promoteBatch', 'sign', 'attest', 'writeReport'];

describe('tracing', () => {
  it('a promotion is one trace: workflow, every phase, every registry request', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      const set = await seedImageSet('trace', 2);
      const worker = await startWorkerProcess(
        taskQueue,
        { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'promoter-it' },
        { compiled: true },
      );
      runs.workers.push(worker);
      expect(worker.output()).toContain(`"tracing":"${receiver.endpoint}"`);
      const report = parseJsonOutput<RunReport>(
        await runCli(['run', '--manifest', set.manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: taskQueue }, 240_000),
      );
      expect(report.status).toBe('succeeded');
      await worker.stop(); // flushes the spans not yet sent

      const all = receiver.spans;
      const roots = all.filter((s) => s.name === 'RunWorkflow:promotionWorkflow');
      expect(roots).toHaveLength(1);
      const traceId = roots[0]!.traceId;
      // Besides the run's trace only the worker's own bookkeeping: its budget leases and the
      // promotion lane, each a workflow of its own with traces of its own.
      const others = all.filter((s) => s.traceId !== traceId);
      expect(others.filter((s) => !/budgetCoordinator|lease|release|lane/i.test(s.name)).map((s) => s.name)).toEqual([]);
      const spans = all.filter((s) => s.traceId === traceId);
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['promoter-it']));

      // One tree: every parent is a span of the trace.
      const ids = new Set(spans.map((s) => s.spanId));
      expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);

      const activities = spans.filter((s) => s.name.startsWith('RunActivity:'));
      for (const phase of PHASES)
        expect(
          activities.map((s) => s.name),
          `a span for ${phase}`,
        ).toContain(`RunActivity:${phase}`);

      // Registry requests, each under the activity that made it, naming the host it went to.
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const requests = spans.filter((s) => s.attributes['server.address'] !== undefined);
      expect(requests.length).toBeGreaterThan(20);
      for (const r of requests) expect(byId.get(r.parentSpanId!)?.name, r.name).toMatch(/^RunActivity:/);
      const hosts = new Set(requests.map((r) => r.attributes['server.address']));
      const s = stack();
      for (const host of [s.registries.staging, s.registries.production, ...s.registries.mirrors]) expect(hosts, host).toContain(host);
      const underPromote = requests.filter((r) => byId.get(r.parentSpanId!)?.name === 'RunActivity:promoteBatch');
      expect(underPromote.some((r) => r.attributes['http.request.method'] === 'PUT')).toBe(true);
      console.log(
        `tracing: ${spans.length} spans in trace ${traceId}: ${activities.length} activities, ${requests.length} registry requests (${underPromote.length} in Promote)`,
      );
    } finally {
      await receiver.close();
    }
  }, 300_000);
});
