/**
 * What every activity needs, built once per worker: the registry operations (with the per-host
 * rate budget and blob cache shared by all activities of this worker), the audit store, the
 * configuration, a logger, and the worker's memory of run documents and trust material.
 * Activities get it by closure (see ./index.ts), the dependency-injection pattern of Temporal's
 * TypeScript samples; nothing is kept at module level, so two workers in one process (or two
 * configurations) never share state by accident.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { PromoterConfig } from '../../lib/config';
import type { DocumentStore } from '../../lib/storage/audit-store';
import type { RunDocuments } from './documents';
import type { PromoterMetrics } from './metrics';
import type { RegistryOps } from './registry-port';
import type { TrustMaterial } from './trust';

/** What the worker hands to createActivities. */
export interface WorkerDeps {
  config: PromoterConfig;
  store: DocumentStore;
  registry: RegistryOps;
  log: Logger;
  /** The worker's Prometheus metrics (none in tests that do not look). */
  metrics?: PromoterMetrics;
}

export interface ActivityDeps extends WorkerDeps {
  metrics: PromoterMetrics;
  /** Immutable run documents (plan, copy tasks) read once per worker. */
  documents: RunDocuments;
  /** Verification keys, the trusted root and the signing key, loaded once per worker. */
  trust: TrustMaterial;
}

/** The current activity's workflow and run ids, for S3 keys and log lines. */
export function runIds(): { workflowId: string; runId: string; attempt: number } {
  const info = Context.current().info;
  const wf = info.workflowExecution;
  if (!wf) throw new Error('promoter activities run inside a workflow');
  return { workflowId: wf.workflowId, runId: wf.runId, attempt: info.attempt };
}

/** The last checkpoint each running activity sent, so a keep-alive beat never wipes it. */
const checkpoints = new WeakMap<Context, unknown>();

/** Heartbeat with a new checkpoint, or (no argument) re-send the last one. */
export function heartbeat(details?: unknown): void {
  const ctx = Context.current();
  if (details !== undefined) checkpoints.set(ctx, details);
  ctx.heartbeat(checkpoints.get(ctx));
}

/**
 * Runs a whole activity while heartbeating every few seconds: every activity, quick or long, so a
 * worker that dies anywhere (Setup, the report, a big Plan) is noticed within the heartbeat timeout
 * instead of at the end of a start-to-close timeout.
 */
export function keepBeating<A extends unknown[], R>(fn: (...args: A) => Promise<R>, everyMs = 5_000): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    const timer = setInterval(() => heartbeat(), everyMs);
    try {
      return await fn(...args);
    } finally {
      clearInterval(timer);
    }
  };
}

export function heartbeatDetails<T>(): T | undefined {
  return Context.current().info.heartbeatDetails as T | undefined;
}

/**
 * Runs `body` while heartbeating every few seconds with the current checkpoint, so that one slow
 * step (a multi-gigabyte layer) never looks like a dead worker, while a dead worker is still
 * noticed within the heartbeat timeout and its activity resumed elsewhere from the checkpoint.
 */
export async function withHeartbeat<T>(checkpoint: () => unknown, body: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const timer = setInterval(() => heartbeat(checkpoint()), everyMs);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
