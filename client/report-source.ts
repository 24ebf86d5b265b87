/** Fetching a run's report: from the finished workflow's result, or from the audit bucket. */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { PromoterConfig } from '../lib/config';
import { reportKey } from '../lib/run/storage-keys';
import type { RunReport } from '../lib/run/report';
import { AuditStore } from '../lib/storage/audit-store';
import type { promotionWorkflow } from '../workflows/promotion';
import { UsageError } from './connect';

/** The report a failed run carries as its failure details, if any. */
function reportFromFailure(err: unknown): RunReport | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure && cause.type === 'PromotionFailed') return cause.details?.[0] as RunReport | undefined;
  return undefined;
}

/** Waits for the run and returns its report, whether it succeeded or failed. */
export async function awaitReport(client: Client, workflowId: string): Promise<RunReport> {
  const handle = client.workflow.getHandle<typeof promotionWorkflow>(workflowId);
  try {
    return await handle.result();
  } catch (err) {
    const report = reportFromFailure(err);
    if (report) return report;
    throw err;
  }
}

/** The stored report of a finished run (latest run of that workflow id unless runId is given). */
export async function storedReport(client: Client, config: PromoterConfig, workflowId: string, runId?: string): Promise<RunReport | 'running'> {
  const handle = client.workflow.getHandle(workflowId, runId);
  let desc;
  try {
    desc = await handle.describe();
  } catch (err) {
    throw noSuchRun(workflowId, err);
  }
  if (desc.status.name === 'RUNNING') return 'running';
  const store = new AuditStore(config.store);
  const report = await store.getJsonIfExists<RunReport>(reportKey(workflowId, desc.runId));
  if (report) return report;
  throw new UsageError(`run ${workflowId} ended ${desc.status.name} without a report`, 1);
}

/** A describe that failed: the native connection's "not found" carries no message of its own. */
export function noSuchRun(workflowId: string, err: unknown): UsageError {
  const message = (err as Error).message;
  return new UsageError(`no run with id ${workflowId}${message ? `: ${message}` : ''}`);
}

/** Exit code of a report: 0 succeeded (or a clean dry run), 1 otherwise. */
export function exitCodeOf(r: RunReport): number {
  if (r.status === 'succeeded') return 0;
  if (r.status === 'dry-run') return r.failureCount === 0 ? 0 : 1;
  return 1;
}
