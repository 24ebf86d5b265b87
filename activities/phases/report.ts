/**
 * The run report: the workflow's bookkeeping plus every phase's result document from S3,
 * merged into the report contract, written to S3 next to the plan and returned (with the
 * failure list capped). The stored report lists up to 10,000 failures; a run with more has
 * every one in parts beside it (../shared/failure-parts.ts), so its memory stays flat.
 */
import type { ResultDocument } from '../../lib/run/documents';
import { planEdges } from '../../lib/run/plan';
import { reportFailuresKey, reportKey } from '../../lib/run/storage-keys';
import { edgeName, type PhaseOutcome } from '../../lib/run/outcomes';
import type { ResultRef } from '../../lib/run/input';
import { MAX_FAILURES_IN_REPORT, type ReportInput, type RunReport, type RunStatus } from '../../lib/run/report';
import { emptyTransfer } from '../../lib/run/counts';
import { runIds, type ActivityDeps } from '../shared/deps';
import type { Heartbeat } from '../shared/heartbeat';
import { readResult } from '../shared/documents';
import { FailureParts } from '../shared/failure-parts';
import { advanceLatestBundle } from '../shared/latest-bundle';
import { verificationRefs } from '../shared/verification';
import { writeOnce } from '../shared/write-once';

/** The report as the workflow gets it: the failure list capped (the stored report has all). */
const capped = (r: RunReport): RunReport => ({ ...r, failures: r.failures.slice(0, MAX_FAILURES_IN_REPORT) });

export function createReport(deps: ActivityDeps) {
  return async function writeReport(_hb: Heartbeat, r: ReportInput): Promise<RunReport> {
    const { workflowId, runId } = runIds();
    // Written once: an earlier attempt that finished (its worker died before Temporal heard) stands.
    const earlier = await deps.store.getJsonIfExists<RunReport>(reportKey(workflowId, runId));
    if (earlier) {
      // The attempt that wrote it may have died before it moved the pointer.
      await followLatest(deps, r, earlier);
      return capped(earlier);
    }
    const failures = new FailureParts(deps.store, (n) => reportFailuresKey(workflowId, runId, n));
    if (r.fatal) await failures.add({ edge: '*', phase: r.fatal.phase, code: 'PHASE_FAILED', error: r.fatal.error });
    let blockedEdges = 0;
    let batchFailedEdges = 0;

    if (r.plan) {
      const plan = await deps.documents.plan(r.plan.plan);
      for (const e of planEdges(plan)) {
        if (e.verdict === 'lost')
          await failures.add({ edge: edgeName(e), phase: 'plan', code: 'LOST', error: `source ${e.source.host}/${e.source.repository}@${e.digest} not found` });
        if (e.verdict === 'tag-move')
          await failures.add({
            edge: edgeName(e),
            phase: 'plan',
            code: 'TAG_MOVE',
            error: `tag ${e.tag} points at ${e.currentDigest}; the promoter never moves a tag`,
          });
      }
      const tasks = await deps.documents.copyTasks(r.plan.plan, verificationRefs(r.provenance, r.validate));
      blockedEdges = plan.counts.promote - tasks.reduce((n, t) => n + t.edges, 0);
      // A batch whose activity failed for good wrote no result: every edge it held failed.
      const size = r.input.options.batchSize;
      for (const { batch, error } of r.promote?.failedBatches ?? []) {
        for (const t of tasks.slice(batch * size, (batch + 1) * size)) {
          batchFailedEdges += t.edges;
          for (const tag of t.tags.length ? t.tags : [null]) {
            await failures.add({
              edge: edgeName({ destination: t.destination, tag, digest: t.digest }),
              phase: 'promote',
              code: 'BATCH_FAILED',
              error: `promote batch ${batch + 1} failed: ${error}`,
            });
          }
        }
      }
    }
    const results: ResultRef[] = [
      ...verificationRefs(r.provenance, r.validate),
      ...(r.promote?.resultKeys ?? []),
      ...phaseKeys(r.sign),
      ...phaseKeys(r.attest),
    ].filter((k) => !!k);
    for (const ref of results) {
      const doc = await readResult<ResultDocument<unknown>>(deps.store, ref);
      for (const f of doc.failures) await failures.add(f);
    }
    await failures.close();

    const plan = r.plan?.counts;
    const promote = r.promote;
    const signFailures = (r.sign?.failureCount ?? 0) + (r.attest?.failureCount ?? 0);
    const failedEdges = (promote?.failedEdges ?? 0) + batchFailedEdges + (plan?.lost ?? 0) + (plan?.tagMoves ?? 0) + blockedEdges;
    const status: RunStatus = r.fatal ? 'failed' : !r.input.confirm ? 'dry-run' : failedEdges > 0 || signFailures > 0 ? 'failed' : 'succeeded';

    const key = reportKey(workflowId, runId);
    const report: RunReport = {
      workflowId,
      runId,
      status,
      dryRun: !r.input.confirm,
      origin: r.input.origin,
      bundleSha256: r.input.bundleSha256,
      startedAt: r.startedAt,
      finishedAt: new Date().toISOString(),
      phases: r.phases,
      edges: {
        total: plan?.total ?? 0,
        promoted: promote?.promotedEdges ?? 0,
        // Found in place by Promote too: another run put them there after this one's plan (lanes).
        alreadyPresent: (plan?.present ?? 0) + (promote?.alreadyPresent ?? 0),
        failed: failedEdges,
        lost: plan?.lost ?? 0,
        tagMoves: (plan?.tagMoves ?? 0) + (promote?.tagMoves ?? 0),
        overlaps: plan?.overlaps ?? 0,
        toPromote: plan?.promote ?? 0,
      },
      transfer: promote?.transfer ?? emptyTransfer(),
      provenance: r.provenance && stripKeys(r.provenance),
      signaturesVerified: r.validate && stripKeys(r.validate),
      signatures: {
        signed: r.sign?.signed ?? 0,
        alreadySigned: r.sign?.alreadySigned ?? 0,
        mirrored: r.sign?.mirrored ?? 0,
        manifestsSigned: r.sign?.manifestsSigned ?? 0,
      },
      attestations: {
        written: r.attest?.written ?? 0,
        alreadyPresent: r.attest?.alreadyPresent ?? 0,
        vsaWritten: r.attest?.vsaWritten ?? 0,
        vsaAlreadyPresent: r.attest?.vsaAlreadyPresent ?? 0,
      },
      audit: {
        bucket: deps.store.bucket,
        bundleKey: r.input.bundleKey,
        planKey: r.plan?.plan.key,
        reportKey: key,
        resultKeys: results.map((ref) => (typeof ref === 'string' ? ref : ref.key)),
        ...(failures.keys.length ? { failureKeys: failures.keys } : {}),
      },
      failures: failures.listed,
      failureCount: failures.count,
      failuresByCode: failures.byCode,
    };
    // Another attempt may have written it first: that one stands.
    const stands = (await writeOnce(deps.store, key, report)).value;
    deps.metrics.phases(r.phases);
    await followLatest(deps, r, stands);
    deps.log.info({ workflowId, status, edges: report.edges, failures: failures.count, reportKey: key }, 'report written');
    return capped(stands);
  };
}

/**
 * The nightly re-mirroring follows the last confirmed run that succeeded, never a failed or
 * partial one, and never back to an older run that finished later (../shared/latest-bundle.ts).
 */
async function followLatest(deps: ActivityDeps, r: ReportInput, report: RunReport): Promise<void> {
  if (report.status !== 'succeeded' || !r.input.confirm || !r.plan) return;
  const { workflowId, runId } = report;
  const moved = await advanceLatestBundle(deps.store, {
    bundleKey: r.input.bundleKey,
    bundleSha256: r.input.bundleSha256,
    workflowId,
    runId,
    startedAt: r.startedAt,
    at: report.finishedAt ?? new Date().toISOString(),
  });
  if (!moved) deps.log.info({ workflowId, runId }, 'latest-bundle pointer left alone: it names this run or a newer one');
}

function stripKeys<T extends { resultKey: string; failureCount: number; resultSha256?: string }>(v: T): Omit<T, 'resultKey' | 'failureCount' | 'resultSha256'> {
  const { resultKey: _k, failureCount: _f, resultSha256: _s, ...rest } = v;
  return rest;
}

/** A phase's result documents: one, or one per part. */
function phaseKeys(outcome: PhaseOutcome | undefined): string[] {
  return outcome ? (outcome.resultKeys ?? [outcome.resultKey]) : [];
}
