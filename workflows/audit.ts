/**
 * The audit, in two workflows:
 *  - AuditWorkflow: one look at everything the manifests name (a Temporal Schedule starts it, or
 *    `promoter audit`); its report is the result.
 *  - AuditEventsWorkflow: one long-lived run per task queue that the webhook receiver starts and
 *    signals (signal-with-start) with every push a registry reports; it judges each pushed tag
 *    within seconds and keeps the latest findings for its query and the UI.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  setWorkflowOptions,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  countFindings,
  describeCounts,
  type AuditEventsInput,
  type AuditEventsState,
  type AuditFinding,
  type AuditInput,
  type AuditReport,
  type PushEvent,
} from '../lib/run/audit';
import { LONG, QUICK } from './activity-options';
import { onVersionedWorkers } from './versioning';

const long = proxyActivities<Activities>(LONG);
const quick = proxyActivities<Activities>(QUICK);

export const AUDIT_EVENTS_WORKFLOW_ID = 'audit-events';
export const pushedSignal = defineSignal<[PushEvent]>('pushed');
export const auditStateQuery = defineQuery<AuditEventsState>('auditState');

/** Pushes judged per activity call. */
const BATCH = 200;
/** Findings the events workflow keeps for its query (the S3 reports keep them all). */
const RECENT = 100;
/** Pushes judged per run before it continues as new, so its history stays small. */
const EVENTS_PER_RUN = 2_000;
/**
 * How long an unexplained tag waits for its second look: a promotion under way pushes its tags
 * first and writes its tag record when the copy batch ends.
 */
const SECOND_LOOK = '4 seconds';

export async function auditWorkflow(input: AuditInput): Promise<AuditReport> {
  const report = await long.auditRegistries(input);
  setCurrentDetails(summaryOf(report));
  return report;
}

function summaryOf(r: AuditReport): string {
  const lines = [
    `**${r.status}**: ${r.repositories} repositories, ${r.digests} digests in place, ${r.tagsListed} tags listed; ${describeCounts(r.counts)}`,
    `report: \`${r.reportKey}\``,
  ];
  for (const f of r.findings.slice(0, 20)) lines.push(`- ${f.kind}: ${f.detail}`);
  return lines.join('\n');
}

export async function auditEventsWorkflow(input: AuditEventsInput = {}): Promise<void> {
  const pending: PushEvent[] = [...(input.pending ?? [])];
  const state: AuditEventsState = input.state ?? { events: 0, flagged: 0, recent: [] };
  setHandler(pushedSignal, (e) => void pending.push(e));
  setHandler(auditStateQuery, () => state);
  let batch = 0;
  let judged = 0;
  const flag = (findings: AuditFinding[]) => {
    state.flagged += findings.length;
    state.recent = [...state.recent, ...findings].slice(-RECENT);
  };
  while (judged < EVENTS_PER_RUN && !workflowInfo().continueAsNewSuggested) {
    await condition(() => pending.length > 0);
    const events = pending.splice(0, BATCH);
    const bundle = input.bundleKey ? { bundleKey: input.bundleKey } : {};
    const first = await quick.auditPushes({ events, ...bundle, final: false, batch: batch++ });
    flag(first.findings);
    if (first.suspects.length > 0) {
      await sleep(SECOND_LOOK);
      const second = await quick.auditPushes({ events: first.suspects, ...bundle, final: true, batch: batch++ });
      flag(second.findings);
    }
    state.events += events.length;
    judged += events.length;
    const latest = state.recent.slice(-10).map((f) => `- ${f.kind}: ${f.detail}`);
    setCurrentDetails(
      [`${state.events} pushes judged, ${state.flagged} flagged; the last ${RECENT} findings: ${describeCounts(countFindings(state.recent))}`, ...latest].join(
        '\n',
      ),
    );
  }
  // Signals that arrived meanwhile go with the next run.
  await continueAsNew<typeof auditEventsWorkflow>({ ...input, state, pending });
}

// Short runs (one activity, or a bounded run of pushes): each may as well move to the newest code.
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), auditWorkflow);
setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), auditEventsWorkflow);
