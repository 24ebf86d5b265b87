/**
 * What every activity needs, built once per worker process: the registry client (with its
 * per-host rate budget and blob cache shared by all activities of this worker), the audit
 * store, the configuration and a logger. Activities get it by closure (see ./index.ts),
 * the dependency-injection pattern of Temporal's TypeScript samples.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { PromoterConfig } from '../lib/config';
import type { AuditStore } from '../lib/storage/audit-store';
import type { RegistryOps } from './registry-ops';

export interface ActivityDeps {
  config: PromoterConfig;
  store: AuditStore;
  registry: RegistryOps;
  log: Logger;
}

/** The current activity's workflow and run ids, for S3 keys and log lines. */
export function runIds(): { workflowId: string; runId: string; attempt: number } {
  const info = Context.current().info;
  const wf = info.workflowExecution;
  if (!wf) throw new Error('promoter activities run inside a workflow');
  return { workflowId: wf.workflowId, runId: wf.runId, attempt: info.attempt };
}

/** Heartbeat, and tell the activity to stop early when the workflow cancels it. */
export function heartbeat(details?: unknown): void {
  Context.current().heartbeat(details);
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
