/**
 * Promote: one activity per batch of copy tasks. Each task copies one image digest into one
 * destination repository by digest (children and blobs first, mounts where possible), then sets
 * its tags, never moving one. A failing task is recorded and the batch goes on.
 *
 * Resumable: the heartbeat carries the indices already settled and their outcomes, so a retried
 * activity (worker crash, timeout) skips them; the copy itself re-checks the destination before
 * every write, so a task cut off half-way is finished, never duplicated.
 */
import type { CopyTask } from '../../lib/run/plan';
import type { PlacedImage, PromoteBatchDocument } from '../../lib/run/documents';
import { promoteBatchKey } from '../../lib/run/storage-keys';
import { edgeName, type Failure, type PromoteBatchSummary, type TransferCounts } from '../../lib/run/outcomes';
import type { PromoteBatchArgs } from '../../lib/run/input';
import { addTransfer, emptyTransfer } from '../../lib/run/counts';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from '../shared/deps';
import { failureOf } from '../shared/failures';
import type { Heartbeat } from '../shared/heartbeat';
import { earlierResult, writeResult } from '../shared/results';
import { updateTagRecords } from '../shared/tag-records';
import type { CopyOutcome } from '../shared/registry-port';

/** Copy tasks of one batch in flight at once: enough that round trips overlap; the per-host budget still caps requests. */
const TASK_CONCURRENCY = 32;

interface TaskRecord {
  index: number;
  promoted: number;
  /** Edges another run put in place at this digest since the plan (see PromoteBatchArgs.laneContended). */
  present: number;
  tagMoves: number;
  failed: number;
  transfer: TransferCounts;
  failures: Failure[];
  /** Tags now in place at the destination (for Sign and Attest). */
  placedTags: string[];
  placed: boolean;
  /** The fallback tag written for the source's referrers, if any. */
  fallbackTag?: string;
}

interface BatchCheckpoint {
  records: TaskRecord[];
}

export function createPromote(deps: ActivityDeps) {
  return async function promoteBatch(hb: Heartbeat, args: PromoteBatchArgs): Promise<PromoteBatchSummary> {
    const { workflowId, runId, attempt } = runIds();
    const earlier = await earlierResult<PromoteBatchSummary>(deps, promoteBatchKey(workflowId, runId, args.batch));
    if (earlier) return earlier;
    const plan = await deps.documents.plan(args.plan);
    const all = await deps.documents.copyTasks(args.plan, args.verification ?? args.verificationKeys);
    const tasks = all.slice(args.batch * args.input.options.batchSize, (args.batch + 1) * args.input.options.batchSize);

    const resumed = hb.resumed<BatchCheckpoint>();
    const records = new Map<number, TaskRecord>((resumed?.records ?? []).map((r) => [r.index, r]));
    if (resumed) deps.log.info({ workflowId, batch: args.batch, settled: records.size, of: tasks.length }, 'resuming batch from heartbeat');

    const pending = tasks.map((t, i) => ({ t, i })).filter(({ i }) => !records.has(i));
    // Repositories the plan found empty need no existence checks, but only on a first attempt:
    // a retry (crash, timeout) must look, since the attempt before it may have written; and only
    // when no other run held a lane since the plan: it may have written there.
    const firstLook = attempt === 1 && !resumed;
    const fresh = firstLook && !args.laneContended ? new Set(plan.newRepositories ?? []) : new Set<string>();
    // Found in place on a first look after another run held the lane: that run put it there.
    const othersWrote = firstLook && !!args.laneContended;
    const checkpoint = (): BatchCheckpoint => ({ records: [...records.values()] });
    const requestsBefore = deps.requestsSent();
    await hb.during(checkpoint, () =>
      mapPool(pending, TASK_CONCURRENCY, async ({ t, i }) => {
        records.set(i, await runTask(deps, t, i, fresh.has(`${t.destination.host}/${t.destination.repository}`), othersWrote));
        hb.beat(checkpoint());
      }),
    );
    // Requests of this worker's client while the batch ran (other batches in flight on the same worker count too).
    const requests = deps.requestsSent() - requestsBefore;

    const ordered = [...records.values()].sort((a, b) => a.index - b.index);
    const summary: PromoteBatchSummary = {
      batch: args.batch,
      resultKey: promoteBatchKey(workflowId, runId, args.batch),
      promotedEdges: sum(ordered, (r) => r.promoted),
      alreadyPresent: sum(ordered, (r) => r.present),
      failedEdges: sum(ordered, (r) => r.failed),
      tagMoves: sum(ordered, (r) => r.tagMoves),
      lost: 0,
      transfer: { ...ordered.reduce((acc, r) => addTransfer(acc, r.transfer), emptyTransfer()), requests },
      failureCount: sum(ordered, (r) => r.failures.length),
    };
    const placed: PlacedImage[] = [];
    ordered.forEach((r) => {
      const t = tasks[r.index]!;
      if (!r.placed) return;
      placed.push({
        project: t.project,
        image: t.image,
        digest: t.digest,
        source: t.source,
        destination: t.destination,
        destinationIndex: t.destinationIndex,
        tags: r.placedTags,
        promotedNow: r.promoted > 0,
        ...(r.fallbackTag ? { fallbackTag: r.fallbackTag } : {}),
      });
    });
    const doc: PromoteBatchDocument = { summary, failures: ordered.flatMap((r) => r.failures), placed };
    const stands = await writeResult(deps, summary.resultKey, doc);
    await recordPlacedTags(deps, placed);
    // One line per batch: which worker did what (several workers share a run's batches).
    deps.log.info(
      { workflowId, batch: args.batch, tasks: tasks.length, promotedEdges: summary.promotedEdges, failedEdges: summary.failedEdges, requests },
      'promote batch done',
    );
    return stands;
  };
}

/**
 * Remember which digest each placed tag carries, and which digests were placed without a tag
 * (tags/list never shows those), so the next plan needs no HEAD for them.
 * Parallel batches may touch one repository's record; a lost update only costs a HEAD later.
 */
async function recordPlacedTags(deps: ActivityDeps, placed: PlacedImage[]): Promise<void> {
  // A tagless digest is invisible to tags/list: the record remembers it, so the next plan needs no HEAD.
  await updateTagRecords(
    deps.store,
    placed.map((p) => ({ ref: p.destination, tags: Object.fromEntries(p.tags.map((t) => [t, p.digest])), digests: p.tags.length === 0 ? [p.digest] : [] })),
  );
}

async function runTask(deps: ActivityDeps, task: CopyTask, index: number, assumeAbsent: boolean, othersWrote: boolean): Promise<TaskRecord> {
  const rec = await copyTask(deps, task, index, assumeAbsent, othersWrote);
  deps.metrics.copied(task.destination.host, { promoted: rec.promoted, failed: rec.failed, bytesUploaded: rec.transfer.bytesUploaded });
  return rec;
}

async function copyTask(deps: ActivityDeps, task: CopyTask, index: number, assumeAbsent: boolean, othersWrote: boolean): Promise<TaskRecord> {
  const rec: TaskRecord = { index, promoted: 0, present: 0, tagMoves: 0, failed: 0, transfer: emptyTransfer(), failures: [], placedTags: [], placed: false };
  let outcome: CopyOutcome;
  try {
    outcome = await deps.registry.copy(task, { assumeAbsent });
  } catch (err) {
    rec.failed = task.edges;
    for (const tag of task.tags.length ? task.tags : [null]) {
      rec.failures.push(failureOf(edgeName({ destination: task.destination, tag, digest: task.digest }), 'promote', err, 'ERROR'));
    }
    deps.log.warn({ destination: task.destination, digest: task.digest, code: rec.failures[0]?.code, err: rec.failures[0]?.error }, 'copy failed');
    return rec;
  }
  rec.transfer = { ...outcome.transfer, requests: 0 };
  rec.placed = true;
  if (outcome.fallbackTag) rec.fallbackTag = outcome.fallbackTag;
  // The plan saw these edges absent, so in place now means this run put them there, even when an
  // earlier attempt of this activity (a crashed worker) made the write and this one only finds it;
  // unless another run held the lane since the plan and this is a first look (othersWrote).
  if (task.tags.length === 0) {
    if (othersWrote && outcome.transfer.manifestsWritten === 0) rec.present = 1;
    else rec.promoted = 1;
  }
  for (const t of outcome.tags) {
    if (t.result === 'written' || t.result === 'present') {
      if (t.result === 'present' && othersWrote) rec.present++;
      else rec.promoted++;
      rec.placedTags.push(t.tag);
    } else {
      rec.tagMoves++;
      rec.failed++;
      rec.failures.push({
        edge: edgeName({ destination: task.destination, tag: t.tag, digest: task.digest }),
        phase: 'promote',
        code: 'TAG_MOVE',
        error: `tag ${t.tag} points at ${t.currentDigest}; the promoter never moves a tag`,
      });
    }
  }
  return rec;
}

function sum<T>(xs: T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0);
}
