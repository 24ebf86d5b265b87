/**
 * BudgetCoordinatorWorkflow: one per task queue, the single keeper of who holds which part of every
 * registry host's budget (lib/budget/leases.ts). Workers lease their part with an update every few
 * seconds (worker/budget-share.ts starts this workflow with the first lease), so the budget is
 * shared by the workers that are alive and busy now, not by the pollers Temporal remembers.
 *
 * It keeps the table in its state and hands it to its next run when the history grows, and ends
 * itself once no worker has held a lease for a while (a task queue nobody serves any more).
 */
import { allHandlersFinished, condition, continueAsNew, defineQuery, defineUpdate, setHandler, setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { live, release, renew, type LeaseGrant, type LeaseRequest, type LeaseTable } from '../lib/budget/leases';
import { onVersionedWorkers } from './versioning';

export const leaseUpdate = defineUpdate<LeaseGrant, [LeaseRequest]>('lease');
export const releaseUpdate = defineUpdate<void, [string]>('release');
export const leasesQuery = defineQuery<LeaseTable>('leases');

/** The coordinator's id on a task queue: one per queue, found by every worker without asking. */
export function budgetCoordinatorId(taskQueue: string): string {
  return `budget-coordinator-${taskQueue}`;
}

/** With no lease held for this long, nobody serves the queue: the coordinator ends. */
const IDLE_END_MS = 10 * 60_000;
/** Renewals per run before the table moves to a fresh history (replay stays cheap). */
const RENEWALS_PER_RUN = 2_000;

export async function budgetCoordinatorWorkflow(carried: LeaseTable = []): Promise<void> {
  let table = carried;
  let renewals = 0;
  setHandler(leaseUpdate, (req) => {
    const r = renew(table, req, Date.now());
    table = r.table;
    renewals++;
    return r.grant;
  });
  setHandler(releaseUpdate, (worker) => {
    table = release(table, worker);
  });
  // The table as last renewed: workflow time stands still between renewals, so the caller compares
  // each lease's expiresAt with its own clock.
  setHandler(leasesQuery, () => table);

  // One timer per idle period, not one per renewal: the loop wakes only to move on or to end.
  for (;;) {
    const before = renewals;
    const moveOn = await condition(() => renewals >= RENEWALS_PER_RUN || workflowInfo().continueAsNewSuggested, IDLE_END_MS);
    if (moveOn) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof budgetCoordinatorWorkflow>(live(table, Date.now()));
    }
    if (renewals === before && live(table, Date.now()).length === 0) break;
  }
  await condition(allHandlersFinished);
}

// A long-lived bookkeeper with no phases: it follows the newest code rather than pinning an old one.
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), budgetCoordinatorWorkflow);
