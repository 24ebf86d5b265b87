/**
 * What every activity needs, built once per worker: the registry operations (with the per-host
 * rate budget and blob cache shared by all activities of this worker), the audit store, the
 * configuration, a logger, and the worker's memory of run documents and trust material.
 * Activities get it by closure (see ../index.ts), the dependency-injection pattern of Temporal's
 * TypeScript samples; nothing is kept at module level, so two workers in one process (or two
 * configurations) never share state by accident.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { PromoterConfig } from '../../lib/config';
import type { DocumentStore } from '../../lib/storage/audit-store';
import type { RunDocuments } from './documents';
import type { PromoterMetrics } from './metrics';
import type { RegistryPort } from './registry-port';
import type { SourceEvidence } from './source-evidence';
import type { TrustMaterial } from './trust';

/** What the worker hands to createActivities. */
export interface WorkerDeps {
  config: PromoterConfig;
  store: DocumentStore;
  registry: RegistryPort;
  log: Logger;
  /** The worker's Prometheus metrics (none in tests that do not look). */
  metrics?: PromoterMetrics;
  /**
   * Registry requests the worker has sent so far (none counted: 0). The one figure of the registry
   * telemetry the report carries: Promote notes the difference over each batch (transfer.requests).
   */
  requestsSent?: () => number;
}

export interface ActivityDeps extends WorkerDeps {
  metrics: PromoterMetrics;
  requestsSent: () => number;
  /** Immutable run documents (plan, copy tasks) read once per worker. */
  documents: RunDocuments;
  /** Verification keys, the trusted root and the signing key, loaded once per worker. */
  trust: TrustMaterial;
  /** What source digests carry, read once per run for all the checks of it. */
  evidence: SourceEvidence;
}

/** The current activity's workflow and run ids, for S3 keys and log lines. */
export function runIds(): { workflowId: string; runId: string; attempt: number } {
  const info = Context.current().info;
  const wf = info.workflowExecution;
  if (!wf) throw new Error('promoter activities run inside a workflow');
  return { workflowId: wf.workflowId, runId: wf.runId, attempt: info.attempt };
}
