// deploy/grafana/promoter-dashboard.json only charts what a worker serves: after a small real
// promotion (one 429 from staging included, so the throttling counters exist) every metric an
// expression names is in the worker's /metrics, and every label it groups by is on that metric.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { freePort } from '../../../scripts/dev/stack/probes';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { seedImageSet } from '../../support/image-set';
import { stack } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess } from '../../support/worker-process';

const DASHBOARD = fileURLToPath(new URL('../../../deploy/grafana/promoter-dashboard.json', import.meta.url));
const runs = useTemporal();
const taskQueue = `dashboard-${randomBytes(4).toString('hex')}`;

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'le']);

/** The metric names a PromQL expression reads, and the labels it groups or matches by. */
export function namesIn(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  e = e.replace(/\b(?:by|without)\s*\(([^)]*)\)/g, (_, list: string) => {
    labels.push(
      ...list
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    return ' ';
  });
  e = e.replace(/\{([^}]*)\}/g, (_, matchers: string) => {
    for (const m of matchers.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]!);
    return ' ';
  });
  e = e.replace(/\[[^\]]*\]/g, ' ');
  const metrics = [...e.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)].filter((m) => !m[2] && !KEYWORDS.has(m[1]!) && !/^\d/.test(m[1]!)).map((m) => m[1]!);
  return { metrics, labels };
}

function samples(text: string): Map<string, Set<string>> {
  const byName = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line.trim());
    if (!m) continue;
    const labels = byName.get(m[1]!) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/(\w+)="/g)) labels.add(l[1]!);
    byName.set(m[1]!, labels);
  }
  return byName;
}

describe('Grafana dashboard', () => {
  it('every expression names metrics and labels a real worker exports', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const proxy = await FaultProxy.start(stack().registries.staging);
    proxy.addFault({ method: 'HEAD', path: /\/manifests\/sha256:/, fault: { kind: 'status', status: 429, retryAfter: 1 } });
    try {
      const set = await seedImageSet('dash', 2, { source: proxy.host });
      const port = await freePort();
      const worker = await startWorkerProcess(taskQueue, { PROMOTER_METRICS_ADDRESS: `127.0.0.1:${port}` }, { compiled: true });
      runs.workers.push(worker);
      const report = parseJsonOutput<RunReport>(
        await runCli(['run', '--manifest', set.manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: taskQueue }, 240_000),
      );
      expect(report.status).toBe('succeeded');
      const exported = samples(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());

      const checked: string[] = [];
      for (const panel of dashboard.panels) {
        expect(panel.targets.length, panel.title).toBeGreaterThan(0);
        for (const { expr } of panel.targets) {
          const { metrics, labels } = namesIn(expr);
          expect(metrics.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
          for (const metric of metrics) {
            expect(exported.has(metric), `${panel.title}: ${metric} is exported`).toBe(true);
            const have = exported.get(metric)!;
            // `job` is the scraper's label, not the worker's.
            for (const label of labels.filter((l) => l !== 'job')) expect(have.has(label), `${panel.title}: ${metric} has label ${label}`).toBe(true);
            checked.push(metric);
          }
        }
      }
      expect(new Set(checked).size).toBeGreaterThanOrEqual(15);
      console.log(`dashboard: ${dashboard.panels.length} panels, ${new Set(checked).size} distinct metrics, all exported`);
    } finally {
      await proxy.close();
    }
  }, 300_000);

  it('reads metric names out of PromQL', () => {
    expect(namesIn('histogram_quantile(0.95, sum by (le, phase) (rate(promoter_phase_duration_seconds_bucket{job=~"$job"}[1h])))')).toEqual({
      metrics: ['promoter_phase_duration_seconds_bucket'],
      labels: ['le', 'phase', 'job'],
    });
    expect(namesIn('sum(a_total) / sum(b_total{x="y"})').metrics).toEqual(['a_total', 'b_total']);
  });
});
