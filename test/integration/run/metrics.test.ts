// The worker's Prometheus endpoint after a real promotion: the Temporal SDK's own metrics and the
// promoter's, whose counters must tell the same story as the run's report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { freePort } from '../../../scripts/dev/stack/probes';
import { parseJsonOutput, runCli } from '../../support/cli';
import { buildScenario, type Scenario } from '../../support/scenario';
import { startTestWorker, type TestWorker } from '../../support/worker';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ([-+\d.eE]+|NaN|\+Inf)$/.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const total = (samples: Sample[], name: string, where: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

let worker: TestWorker;
let scenario: Scenario;
let report: RunReport;
let address: string;

beforeAll(async () => {
  address = `127.0.0.1:${await freePort()}`;
  [worker, scenario] = await Promise.all([startTestWorker('metrics', { PROMOTER_METRICS_ADDRESS: address }), buildScenario()]);
  report = parseJsonOutput<RunReport>(
    await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue }),
  );
}, 240_000);
afterAll(async () => worker?.stop());

describe('worker metrics', () => {
  it('serves the Temporal SDK metrics and the promoter counters, which match the report', async () => {
    // Counters are exported on the runtime's schedule: read until Attest's last requests are in.
    let samples: Sample[] = [];
    await expect
      .poll(
        async () => {
          samples = parseMetrics(await (await fetch(`http://${address}/metrics`)).text());
          return total(samples, 'promoter_registry_requests_total');
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(worker.telemetry.totalRequests());

    expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(true);
    expect(
      total(samples, 'temporal_activity_execution_latency_count', { activity_type: 'promoteBatch' }) +
        total(samples, 'temporal_activity_schedule_to_start_latency_count'),
    ).toBeGreaterThan(0);

    expect(total(samples, 'promoter_edges_planned_total', { verdict: 'promote' })).toBe(report.edges.toPromote);
    expect(total(samples, 'promoter_edges_planned_total', { verdict: 'present' })).toBe(report.edges.alreadyPresent);
    expect(total(samples, 'promoter_edges_planned_total', { verdict: 'lost' })).toBe(report.edges.lost);
    expect(total(samples, 'promoter_edges_planned_total', { verdict: 'tag-move' })).toBe(report.edges.tagMoves);
    expect(total(samples, 'promoter_edge_outcomes_total', { outcome: 'promoted' })).toBe(report.edges.promoted);
    expect(total(samples, 'promoter_bytes_uploaded_total')).toBe(report.transfer.bytesUploaded);
    expect(report.transfer.bytesUploaded).toBeGreaterThan(0);
    // Requests by host and status: every destination registry answered, and 2xx dominate.
    for (const host of [scenario.production, scenario.mirrorA, scenario.mirror]) {
      expect(total(samples, 'promoter_registry_requests_total', { host }), host).toBeGreaterThan(0);
    }
    expect(total(samples, 'promoter_registry_requests_total', { status: '201' })).toBeGreaterThan(0);
    for (const phase of ['setup', 'plan', 'promote', 'sign', 'attest']) {
      expect(total(samples, 'promoter_phase_duration_seconds_count', { phase, status: 'succeeded' }), phase).toBe(1);
    }
  });
});
