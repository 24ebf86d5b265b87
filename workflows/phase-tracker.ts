import { upsertSearchAttributes } from '@temporalio/workflow';
import { PHASES, type PhaseName, type PhaseResult } from '../lib/run/outcomes';
import { PHASE_KEY } from './search-attributes';

/**
 * Keeps each phase's status and timing for the `progress` query and the report.
 * Date.now() inside a workflow is Temporal's deterministic workflow clock.
 */
export class PhaseTracker {
  readonly phases = Object.fromEntries(PHASES.map((p) => [p, { status: 'pending' }])) as Record<PhaseName, PhaseResult>;
  current: PhaseName | 'done' = 'setup';

  async run<T>(phase: PhaseName, body: () => Promise<T>, summarize?: (r: T) => string): Promise<T> {
    this.current = phase;
    const started = Date.now();
    this.phases[phase] = { status: 'running', startedAt: new Date(started).toISOString() };
    upsertSearchAttributes([{ key: PHASE_KEY, value: phase }]);
    try {
      const result = await body();
      this.phases[phase] = { ...this.phases[phase], status: 'succeeded', durationMs: Date.now() - started, summary: summarize?.(result) };
      return result;
    } catch (err) {
      this.phases[phase] = { ...this.phases[phase], status: 'failed', durationMs: Date.now() - started, summary: rootMessage(err) };
      throw err;
    }
  }

  /** A phase that did not run (dry run, or earlier failure), with the reason. */
  skip(phase: PhaseName, why: string): void {
    this.phases[phase] = { status: 'skipped', summary: why };
  }

  /** A phase whose work was all skipped by policy (e.g. `mode: off`) still ran; keep its timing. */
  markSkipped(phase: PhaseName, why: string): void {
    this.phases[phase] = { ...this.phases[phase], status: 'skipped', summary: why };
  }
}

export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause) e = e.cause;
  return e?.message ?? String(err);
}
