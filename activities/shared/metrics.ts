/**
 * The promoter's own metrics, exported through the Temporal runtime's Prometheus endpoint next to
 * the SDK's (one scrape target per worker, PROMOTER_METRICS_ADDRESS). Counters only grow; labels
 * are registry hosts, verdicts, outcomes and phases, never repositories or digests (bounded).
 */
import type { MetricMeter } from '@temporalio/common';
import type { FindingCounts } from '../../lib/run/audit';
import type { EdgeCounts } from '../../lib/run/plan-format';
import type { PhaseResult } from '../../lib/run/outcomes';
import type { RegistryTelemetry } from './registry-adapter';

export interface PromoterMetrics {
  /** Plan: every edge with its verdict. */
  planned(counts: EdgeCounts): void;
  /** Promote: edges settled by one copy task, and the bytes it uploaded to `host`. */
  copied(host: string, outcome: { promoted: number; failed: number; bytesUploaded: number }): void;
  /** The report: how long each phase that ran took. */
  phases(phases: Record<string, PhaseResult>): void;
  /** The audit: one run (scheduled, or a batch of pushes) and what it flagged. */
  audited(trigger: 'schedule' | 'events', counts: FindingCounts): void;
}

export const NO_METRICS: PromoterMetrics = { planned: () => {}, copied: () => {}, phases: () => {}, audited: () => {} };

export function createMetrics(meter: MetricMeter, registry: RegistryTelemetry): PromoterMetrics {
  const edges = meter.createCounter('promoter_edges_planned_total', '', 'Edges planned, by verdict (promote, present, tag-move, lost)');
  const outcomes = meter.createCounter('promoter_edge_outcomes_total', '', 'Edges Promote settled, by outcome (promoted, failed)');
  const bytes = meter.createCounter('promoter_bytes_uploaded_total', 'By', 'Blob bytes uploaded, by registry host');
  const requests = meter.createCounter('promoter_registry_requests_total', '', 'HTTP requests to registries, by host and status code (0: no response)');
  const throttled = meter.createCounter('promoter_registry_throttled_total', '', '429 Too Many Requests answers, by host');
  const retryAfter = meter.createCounter(
    'promoter_registry_retry_after_seconds_total',
    's',
    'Seconds a host was paused because it asked to wait (Retry-After), by host',
  );
  const audits = meter.createCounter(
    'promoter_audit_runs_total',
    '',
    'Audits (a scheduled run, a look at a batch of pushes), by trigger (schedule, events) and result (clean, flagged)',
  );
  const findings = meter.createCounter('promoter_audit_findings_total', '', 'What the audit flagged, by trigger and kind (rogue-tag, moved-tag, unsigned)');
  const duration = meter.createHistogram('promoter_phase_duration_seconds', 'float', 's', 'Phase wall time, by phase and status');

  registry.onRequest((e) => {
    requests.add(1, { host: e.host, status: String(e.status) });
    if (e.status === 429) throttled.add(1, { host: e.host });
    if (e.retryAfterMs) retryAfter.add(Math.ceil(e.retryAfterMs / 1000), { host: e.host });
  });

  return {
    planned(c) {
      const verdicts: Record<string, number> = { promote: c.promote, present: c.present, 'tag-move': c.tagMoves, lost: c.lost };
      for (const [verdict, n] of Object.entries(verdicts)) if (n > 0) edges.add(n, { verdict });
    },
    copied(host, o) {
      if (o.promoted > 0) outcomes.add(o.promoted, { outcome: 'promoted' });
      if (o.failed > 0) outcomes.add(o.failed, { outcome: 'failed' });
      if (o.bytesUploaded > 0) bytes.add(o.bytesUploaded, { host });
    },
    phases(phases) {
      for (const [phase, p] of Object.entries(phases)) {
        if (p.durationMs !== undefined) duration.record(p.durationMs / 1000, { phase, status: p.status });
      }
    },
    audited(trigger, counts) {
      const flagged = Object.values(counts).reduce((a, b) => a + b, 0);
      audits.add(1, { trigger, result: flagged > 0 ? 'flagged' : 'clean' });
      for (const [kind, n] of Object.entries(counts)) if (n > 0) findings.add(n, { trigger, kind });
    },
  };
}
