/**
 * PromotionWorkflow: the seven phases of a promotion, in order. Each phase is an activity
 * (Promote: one activity per batch) that Temporal retries and resumes; this file holds no I/O.
 *
 *   setup -> plan -> provenance -> validate -> [a dry run ends here] -> promote -> sign -> attest
 *
 * A confirmed run promotes holding the lanes of the hosts it writes to (./lanes.ts), so runs whose
 * destinations overlap never run Promote at the same time.
 */
import {
  ApplicationFailure,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  setWorkflowOptions,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AfterPromoteArgs, PromotionInput, StoredRef } from '../lib/run/input';
import { PHASES, type PhaseName, type PhaseOutcome, type PromoteSummary, type VerificationSummary } from '../lib/run/outcomes';
import type { ReportInput, RunProgress, RunReport, RunStatus } from '../lib/run/report';
import { LONG, QUICK } from './activity-options';
import { Lanes } from './lanes';
import { PhaseTracker, rootMessage } from './phase-tracker';
import { promoteAllBatches } from './promote';
import type { BatchProgress } from './promote-batches';
import { EDGES_FAILED_KEY, EDGES_PROMOTED_KEY, EDGES_TOTAL_KEY, STATUS_KEY } from './search-attributes';
import { runInParts } from './shards';
import { onVersionedWorkers } from './versioning';

export const progressQuery = defineQuery<RunProgress>('progress');

const quick = proxyActivities<Activities>(QUICK);
const long = proxyActivities<Activities>(LONG);

/** What the Temporal UI shows next to each activity. */
const SUMMARIES = {
  setup: 'Setup: options, registries, audit bucket, trust material',
  plan: 'Plan: read inventories, give every edge a verdict',
  provenance: 'Provenance: verify SLSA provenance of source digests',
  validate: 'Validate: verify source signatures',
  sign: 'Sign: sign promoted digests, copy signatures to mirrors',
  attest: 'Attest: write signed promotion attestations',
  report: 'Report: merge phase results, write the run report',
} as const;

/** Calls an activity with its phase's UI summary. */
function call<A extends unknown[], R>(
  step: keyof typeof SUMMARIES,
  fn: ActivityFunctionWithOptions<(...args: A) => Promise<R>>,
  options: ActivityOptions,
  ...args: A
): Promise<R> {
  return fn.executeWithOptions({ ...options, summary: SUMMARIES[step] }, args);
}

/** Sign and Attest: one activity per part, as many parts as Promote runs batches at once. */
function callInParts<R extends PhaseOutcome>(
  step: 'sign' | 'attest',
  fn: ActivityFunctionWithOptions<(args: AfterPromoteArgs) => Promise<R>>,
  args: AfterPromoteArgs,
  parts: number,
): Promise<R> {
  return runInParts(parts, (shard) =>
    shard
      ? fn.executeWithOptions({ ...LONG, summary: `${SUMMARIES[step]} (part ${shard.index + 1} of ${shard.of})` }, [{ ...args, shard }])
      : fn.executeWithOptions({ ...LONG, summary: SUMMARIES[step] }, [args]),
  );
}

// Runs started before Sign and Attest ran in parts replay as one activity each.
const SIGN_IN_PARTS = 'sign-attest-in-parts';
// Runs started before lanes promote without them.
const PROMOTION_LANES = 'promotion-lanes';

export async function promotionWorkflow(input: PromotionInput): Promise<RunReport> {
  const { workflowId, runId } = workflowInfo();
  const startedAt = new Date(Date.now()).toISOString();
  const phases = new PhaseTracker();
  const batches: BatchProgress = { done: 0, total: 0 };
  const lanes = new Lanes((host, request) => quick.requestLane.executeWithOptions({ ...QUICK, summary: `Lane: ask for ${host}` }, [host, request]));
  const draft: ReportInput = { input, workflowId, runId, startedAt, phases: phases.phases };

  const progress = (status: RunStatus): RunProgress => ({
    workflowId,
    status,
    currentPhase: phases.current,
    phases: phases.phases,
    edges: draft.plan?.counts,
    batchesDone: batches.done,
    batchesTotal: batches.total,
    ...(lanes.waiting ? { waitingForLane: lanes.waiting } : {}),
  });
  setHandler(progressQuery, () => progress('running'));

  try {
    await phases.run(
      'setup',
      () => call('setup', quick.setup, QUICK, input),
      (s) => `${s.registries.length} registries reachable`,
    );

    const plannedAt = Date.now();
    draft.plan = await phases.run(
      'plan',
      () => call('plan', long.plan, LONG, input),
      (p) => `${p.counts.total} edges, ${p.counts.promote} to promote`,
    );
    upsertSearchAttributes([{ key: EDGES_TOTAL_KEY, value: draft.plan.counts.total }]);
    const planRef = { input, plan: draft.plan.plan };

    const verified = (v: { mode: string; passed: number; checked: number; blocked: number }): string =>
      `${v.mode}: ${v.passed}/${v.checked} verified, ${v.blocked} blocked`;
    draft.provenance = await phases.run('provenance', () => call('provenance', long.provenance, LONG, planRef), verified);
    if (draft.provenance.mode === 'off') phases.markSkipped('provenance', 'policy mode off in every project');

    draft.validate = await phases.run('validate', () => call('validate', long.validate, LONG, planRef), verified);
    if (draft.validate.mode === 'off') phases.markSkipped('validate', 'policy mode off in every project');

    if (!input.confirm) {
      for (const p of ['promote', 'sign', 'attest'] as const) phases.skip(p, 'dry run');
    } else {
      const verificationKeys = [draft.provenance.resultKey, draft.validate.resultKey];
      // With their hashes, Promote and Sign read what verification blocked checked against them.
      // Only activity arguments change: a history recorded before replays as it ran.
      const verification = resultRefs(draft.provenance, draft.validate);
      const plan = draft.plan;
      const promote = (laneContended: boolean) =>
        promoteAllBatches(
          long,
          { ...planRef, verificationKeys, ...(verification ? { verification } : {}), ...(laneContended ? { laneContended } : {}) },
          plan.copyTasks,
          input.options,
          batches,
          onBatchDone,
        );
      draft.promote = await phases.run(
        'promote',
        // A plan of an older release names no promote hosts: all of its registries then.
        () => (patched(PROMOTION_LANES) && plan.copyTasks > 0 ? lanes.holding(plan.promoteHosts ?? plan.registries, plannedAt, promote) : promote(false)),
        (p) => `${p.promotedEdges} promoted, ${p.failedEdges} failed`,
      );
      const after = { ...planRef, promoteResultKeys: draft.promote.resultKeys, ...(verification ? { verification } : {}) };
      const parts = patched(SIGN_IN_PARTS) ? Math.max(1, input.options.parallelBatches ?? 1) : 1;
      draft.sign = await phases.run(
        'sign',
        () => callInParts('sign', long.sign, after, parts),
        (s) => `${s.signed} signed, ${s.mirrored} mirrored`,
      );
      draft.attest = await phases.run(
        'attest',
        () => callInParts('attest', long.attest, after, parts),
        (a) => `${a.written} attestations written`,
      );
    }
  } catch (err) {
    const failed = PHASES.find((p) => phases.phases[p].status === 'failed') ?? (phases.current as PhaseName);
    draft.fatal = { phase: failed, error: rootMessage(err) };
    for (const p of PHASES) if (phases.phases[p].status === 'pending') phases.skip(p, `not run: ${failed} failed`);
  }
  phases.current = 'done';

  const report = await call('report', quick.writeReport, QUICK, draft);
  upsertSearchAttributes([
    { key: STATUS_KEY, value: report.status },
    { key: EDGES_PROMOTED_KEY, value: report.edges.promoted },
    { key: EDGES_FAILED_KEY, value: report.edges.failed },
  ]);
  setHandler(progressQuery, () => progress(report.status));
  if (report.status === 'failed') {
    // Fail the execution so the UI shows it; the report rides along as the failure's details.
    throw ApplicationFailure.create({ type: 'PromotionFailed', message: failureHeadline(report), nonRetryable: true, details: [report] });
  }
  return report;

  function onBatchDone(progress: PromoteSummary): void {
    upsertSearchAttributes([
      { key: EDGES_PROMOTED_KEY, value: progress.promotedEdges },
      { key: EDGES_FAILED_KEY, value: progress.failedEdges },
    ]);
  }
}

// With versioned workers, a promotion finishes on the code it started with; the next version
// gets the runs started after it became current (README, "Upgrades").
setWorkflowOptions(onVersionedWorkers('PINNED'), promotionWorkflow);

/** Both verification results with their hashes; none when a summary carries no hash (recorded before they did). */
function resultRefs(...summaries: VerificationSummary[]): StoredRef[] | undefined {
  const refs = summaries.map((v) => (v.resultSha256 ? { key: v.resultKey, sha256: v.resultSha256 } : undefined));
  return refs.every((r) => r !== undefined) ? refs : undefined;
}

function failureHeadline(r: RunReport): string {
  const status: RunStatus = r.status;
  const fatal = Object.entries(r.phases).find(([, p]) => p.status === 'failed');
  if (fatal) return `promotion ${status}: phase ${fatal[0]} failed: ${fatal[1].summary ?? ''}`;
  return `promotion ${status}: ${r.failureCount} failure(s), ${r.edges.failed} edge(s) failed`;
}
