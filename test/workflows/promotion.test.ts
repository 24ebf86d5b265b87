// PromotionWorkflow against a real Temporal server (the CLI's dev server, started in-process by
// @temporalio/testing) with mocked activities: the phase order, the dry run, a fatal Setup, the
// fan-out to child workflows, a failing batch, and the promotion lanes (real LaneWorkflows: FIFO
// grants, runs on other hosts not held up, a terminated holder losing its lane). The activities
// here only record what the workflow asked of them and answer with canned summaries (but for
// requestLane, the real one); the real ones have their own tests.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities';
import type { AfterPromoteArgs, PromoteBatchArgs, PromotionInput, RunOptions } from '../../lib/run/input';
import type { ReportInput, RunReport } from '../../lib/run/report';
import { emptyTransfer } from '../../lib/run/counts';
import { PHASES } from '../../lib/run/outcomes';
import { toolPaths } from '../../scripts/dev/stack/paths';
import { WORKFLOWS_PATH } from '../../workflows/location';
import { progressQuery, promotionWorkflow } from '../../workflows/promotion';
import { laneWorkflow } from '../../workflows/lane';
import { laneStateQuery } from '../../workflows/lane-signals';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';
import { createRequestLane } from '../../activities/phases/lane';
import { keepBeating } from '../../activities/shared/heartbeat';
import { laneWorkflowId, type LaneRequest } from '../../lib/run/lanes';

const askForLane = keepBeating(createRequestLane());

/** What one test wants the mocked activities to do, keyed by the workflow id the test starts. */
interface Script {
  copyTasks: number;
  failSetup?: boolean;
  failBatches?: number[];
  /** The hosts Promote writes to (default: one of the run's own, so runs share no lane). */
  hosts?: string[];
  /** Promote batches wait for this gate to open (heartbeating, as the real ones do). */
  gate?: Gate;
}

class Gate {
  open = false;
}

interface Call {
  activity: string;
  args: unknown;
}

const scripts = new Map<string, Script>();
const calls = new Map<string, Call[]>();

/** The workflow that an activity runs for, also for child workflows (`<parent>-promote-<n>`). */
function runOf(): string {
  const id = Context.current().info.workflowExecution!.workflowId;
  return id.replace(/-promote-\d+$/, '');
}

function record(activity: string, args: unknown): Script {
  const run = runOf();
  calls.get(run)!.push({ activity, args });
  return scripts.get(run)!;
}

const summary = { resultKey: 'k', failureCount: 0 };
const verification = { ...summary, mode: 'if-present', checked: 0, passed: 0, failed: 0, warnings: 0, missing: 0, blocked: 0 };

const mocked = {
  async setup(input: PromotionInput) {
    const s = record('setup', input);
    if (s.failSetup) throw ApplicationFailure.nonRetryable('registry check failed: 127.0.0.1:5002: denied', 'RegistryAccess');
    return { registries: ['127.0.0.1:5002'], projects: 1 };
  },
  async plan(input: PromotionInput) {
    const s = record('plan', input);
    const hosts = s.hosts ?? [`${runOf()}.example`];
    return {
      promoteHosts: hosts,
      plan: { key: 'runs/plan.json', sha256: 'f'.repeat(64) },
      counts: { total: s.copyTasks, promote: s.copyTasks, present: 0, tagMoves: 0, lost: 0, overlaps: 0 },
      copyTasks: s.copyTasks,
      sourceDigests: s.copyTasks,
      registries: ['127.0.0.1:5002'],
    };
  },
  async provenance(args: unknown) {
    record('provenance', args);
    return { ...verification, resultKey: 'provenance.json' };
  },
  async validate(args: unknown) {
    record('validate', args);
    return { ...verification, resultKey: 'validate.json' };
  },
  async promoteBatch(args: PromoteBatchArgs) {
    const s = record('promoteBatch', args);
    const ctx = Context.current();
    while (s.gate && !s.gate.open && !ctx.cancellationSignal.aborted) {
      ctx.heartbeat();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    if (s.failBatches?.includes(args.batch)) throw ApplicationFailure.nonRetryable(`batch ${args.batch}: registry refused`, 'Broken');
    return {
      batch: args.batch,
      resultKey: `promote/batch-${args.batch}.json`,
      promotedEdges: 1,
      failedEdges: 0,
      tagMoves: 0,
      lost: 0,
      transfer: emptyTransfer(),
      failureCount: 0,
    };
  },
  async sign(args: AfterPromoteArgs) {
    record('sign', args);
    return { ...summary, resultKey: `sign-${args.shard?.index}.json`, signed: 1, alreadySigned: 0, mirrored: 0, manifestsSigned: 1 };
  },
  async attest(args: AfterPromoteArgs) {
    record('attest', args);
    return { ...summary, resultKey: `attest-${args.shard?.index}.json`, written: 1, alreadyPresent: 0 };
  },
  async writeReport(r: ReportInput): Promise<RunReport> {
    record('writeReport', r);
    const failed = !!r.fatal || (r.promote?.failedBatches?.length ?? 0) > 0;
    return {
      workflowId: r.workflowId,
      runId: r.runId,
      status: failed ? 'failed' : r.input.confirm ? 'succeeded' : 'dry-run',
      dryRun: !r.input.confirm,
      origin: r.input.origin,
      bundleSha256: r.input.bundleSha256,
      startedAt: r.startedAt,
      phases: r.phases,
      edges: {
        total: 0,
        promoted: r.promote?.promotedEdges ?? 0,
        alreadyPresent: 0,
        failed: r.promote?.failedBatches?.length ?? 0,
        lost: 0,
        tagMoves: 0,
        overlaps: 0,
        toPromote: 0,
      },
      transfer: emptyTransfer(),
      signatures: { signed: 0, alreadySigned: 0, mirrored: 0, manifestsSigned: 0 },
      attestations: { written: 0, alreadyPresent: 0, vsaWritten: 0, vsaAlreadyPresent: 0 },
      audit: { bucket: 'b', bundleKey: r.input.bundleKey, resultKeys: [] },
      failures: [],
      failureCount: failed ? 1 : 0,
      failuresByCode: failed ? { LOST: 1 } : {},
    };
  },
  async mirrorSignatures() {
    throw new Error('not used here');
  },
  async requestLane(host: string, request: LaneRequest) {
    record('requestLane', { host, request });
    return askForLane(host, request);
  },
  async auditRegistries() {
    throw new Error('not used here');
  },
  async auditPushes() {
    throw new Error('not used here');
  },
} satisfies Record<keyof Activities, unknown>;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `wf-test-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  const temporal = toolPaths().temporal;
  if (!temporal) throw new Error('the Temporal CLI is not installed: run `bash scripts/setup.sh`');
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporal }, searchAttributes: ALL_SEARCH_ATTRIBUTE_KEYS },
  });
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities: mocked });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

const options = (over: Partial<RunOptions> = {}): RunOptions => ({ batchSize: 1, parallelBatches: 2, batchesPerWorkflow: 250, ...over });

async function start(
  script: Script,
  input: { confirm: boolean; options?: Partial<RunOptions> },
): Promise<{ id: string; handle: WorkflowHandle<typeof promotionWorkflow>; calls: Call[] }> {
  const id = `wf-${randomBytes(5).toString('hex')}`;
  scripts.set(id, script);
  calls.set(id, []);
  const args: PromotionInput = {
    bundleKey: 'inputs/x.json',
    bundleSha256: 'a'.repeat(64),
    confirm: input.confirm,
    options: options(input.options),
    origin: 'test',
  };
  const handle = await env.client.workflow.start(promotionWorkflow, { taskQueue, workflowId: id, args: [args] });
  return { id, handle, calls: calls.get(id)! };
}

async function run(
  script: Script,
  input: { confirm: boolean; options?: Partial<RunOptions> },
): Promise<{ id: string; result?: RunReport; error?: unknown; calls: Call[] }> {
  const { id, handle, calls } = await start(script, input);
  try {
    return { id, result: await handle.result(), calls };
  } catch (error) {
    return { id, error, calls };
  }
}

const names = (cs: Call[]) => cs.map((c) => c.activity);
const reportInput = (cs: Call[]) => cs.find((c) => c.activity === 'writeReport')!.args as ReportInput;

describe('PromotionWorkflow', () => {
  it('runs the phases in the order of the phase table, Promote as one activity per batch, then the report', async () => {
    const r = await run({ copyTasks: 3 }, { confirm: true });
    expect(r.error).toBeUndefined();
    // Sign and Attest run in as many parts as batches run at once (2 here), each part once.
    expect(names(r.calls)).toEqual([
      'setup',
      'plan',
      'provenance',
      'validate',
      'requestLane',
      'promoteBatch',
      'promoteBatch',
      'promoteBatch',
      'sign',
      'sign',
      'attest',
      'attest',
      'writeReport',
    ]);
    expect(
      r.calls
        .filter((c) => c.activity === 'promoteBatch')
        .map((c) => (c.args as PromoteBatchArgs).batch)
        .sort(),
    ).toEqual([0, 1, 2]);
    for (const phase of ['sign', 'attest']) {
      const shards = r.calls.filter((c) => c.activity === phase).map((c) => (c.args as AfterPromoteArgs).shard);
      expect(shards.sort((a, b) => a!.index - b!.index)).toEqual([
        { index: 0, of: 2 },
        { index: 1, of: 2 },
      ]);
    }
    // Promote skips what Provenance and Validate blocked: it is handed their result keys
    expect((r.calls[5]!.args as PromoteBatchArgs).verificationKeys).toEqual(['provenance.json', 'validate.json']);
    expect((r.calls.find((c) => c.activity === 'sign')!.args as AfterPromoteArgs).promoteResultKeys).toEqual([
      'promote/batch-0.json',
      'promote/batch-1.json',
      'promote/batch-2.json',
    ]);
    const report = reportInput(r.calls);
    for (const p of PHASES) expect(report.phases[p].status, p).toBe('succeeded');
    // The parts' summaries add up, and the report reads every part's result document.
    expect(report.sign).toMatchObject({ signed: 2, manifestsSigned: 2, failureCount: 0, resultKeys: ['sign-0.json', 'sign-1.json'] });
    expect(report.attest).toMatchObject({ written: 2, resultKeys: ['attest-0.json', 'attest-1.json'] });
    expect(r.result!.status).toBe('succeeded');
  });

  it('a dry run stops after Validate: no Promote, Sign or Attest, and still writes its report', async () => {
    const r = await run({ copyTasks: 3 }, { confirm: false });
    expect(names(r.calls)).toEqual(['setup', 'plan', 'provenance', 'validate', 'writeReport']);
    const report = reportInput(r.calls);
    for (const p of ['promote', 'sign', 'attest'] as const) expect(report.phases[p]).toEqual({ status: 'skipped', summary: 'dry run' });
    expect(r.result!.status).toBe('dry-run');
  });

  it('a fatal Setup failure skips every other phase, still writes the report, and fails the run', async () => {
    const r = await run({ copyTasks: 3, failSetup: true }, { confirm: true });
    expect(names(r.calls)).toEqual(['setup', 'writeReport']);
    const report = reportInput(r.calls);
    expect(report.fatal).toMatchObject({ phase: 'setup' });
    expect(report.fatal!.error).toContain('denied');
    expect(report.phases.setup.status).toBe('failed');
    for (const p of ['plan', 'provenance', 'validate', 'promote', 'sign', 'attest'] as const)
      expect(report.phases[p]).toEqual({ status: 'skipped', summary: 'not run: setup failed' });
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    expect((r.error as WorkflowFailedError).cause).toMatchObject({ type: 'PromotionFailed' });
  });

  it('past the batch threshold, Promote fans out to child workflows that run every batch exactly once', async () => {
    const r = await run({ copyTasks: 5 }, { confirm: true, options: { batchesPerWorkflow: 2 } });
    expect(r.error).toBeUndefined();
    const batches = r.calls.filter((c) => c.activity === 'promoteBatch').map((c) => (c.args as PromoteBatchArgs).batch);
    expect(batches.sort()).toEqual([0, 1, 2, 3, 4]);
    for (const from of [0, 2, 4]) {
      const child = await env.client.workflow.getHandle(`${r.id}-promote-${from}`).describe();
      expect(child.type).toBe('promoteRangeWorkflow');
      expect(child.status.name).toBe('COMPLETED');
    }
    await expect(env.client.workflow.getHandle(`${r.id}-promote-6`).describe()).rejects.toThrow();
    const report = reportInput(r.calls);
    expect(report.promote).toMatchObject({ batches: 5, promotedEdges: 5 });
    expect(report.promote!.resultKeys).toHaveLength(5);
  });

  it('a batch that fails for good marks only its own edges: the other batches, Sign and Attest go on', async () => {
    const r = await run({ copyTasks: 3, failBatches: [1] }, { confirm: true });
    expect(names(r.calls)).toEqual([
      'setup',
      'plan',
      'provenance',
      'validate',
      'requestLane',
      'promoteBatch',
      'promoteBatch',
      'promoteBatch',
      'sign',
      'sign',
      'attest',
      'attest',
      'writeReport',
    ]);
    const report = reportInput(r.calls);
    expect(report.fatal).toBeUndefined();
    expect(report.phases.promote.status).toBe('succeeded');
    expect(report.promote).toMatchObject({ batches: 3, promotedEdges: 2, failedBatches: [{ batch: 1 }] });
    expect(report.promote!.failedBatches![0]!.error).toContain('registry refused');
    expect((r.calls.find((c) => c.activity === 'sign')!.args as AfterPromoteArgs).promoteResultKeys).toEqual(['promote/batch-0.json', 'promote/batch-2.json']);
    expect(r.error).toBeInstanceOf(WorkflowFailedError); // the run reports the failed edges and ends failed
  });
});

/** Polls until `check` holds (the lanes answer by signal, a moment later). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const batchesStarted = (r: { calls: Call[] }) => r.calls.filter((c) => c.activity === 'promoteBatch').length;
const waitingOf = async (r: { handle: WorkflowHandle<typeof promotionWorkflow> }) => (await r.handle.query(progressQuery)).waitingForLane;
/** What the Temporal UI shows as the run's current details. */
const currentDetails = async (r: { handle: WorkflowHandle<typeof promotionWorkflow> }) =>
  (await r.handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
const laneHost = (name: string) => `${name}-${randomBytes(4).toString('hex')}.example`;

describe('PromotionWorkflow: promotion lanes', () => {
  it('runs that write to one host promote one at a time, in the order they asked; a waiting run says for which lane and behind whom', async () => {
    const host = laneHost('fifo');
    const gates = [new Gate(), new Gate(), new Gate()];
    const a = await start({ copyTasks: 1, hosts: [host], gate: gates[0] }, { confirm: true });
    await until('a promotes', () => batchesStarted(a) === 1);
    const b = await start({ copyTasks: 1, hosts: [host], gate: gates[1] }, { confirm: true });
    await until('b waits behind a', async () => (await waitingOf(b))?.heldBy === a.id);
    const c = await start({ copyTasks: 1, hosts: [host], gate: gates[2] }, { confirm: true });
    await until('c waits behind a', async () => (await waitingOf(c))?.heldBy === a.id);
    expect(await waitingOf(b)).toMatchObject({ host, heldBy: a.id });
    expect(await currentDetails(b)).toBe(`waiting for lane ${host} held by ${a.id}`);
    expect((await b.handle.query(progressQuery)).currentPhase).toBe('promote');
    expect(await env.client.workflow.getHandle(laneWorkflowId(taskQueue, host)).query(laneStateQuery)).toMatchObject({ holder: a.id, waiting: [b.id, c.id] });
    expect([batchesStarted(b), batchesStarted(c)]).toEqual([0, 0]);

    gates[0]!.open = true;
    await until('b promotes', () => batchesStarted(b) === 1);
    await until('c waits behind b', async () => (await waitingOf(c))?.heldBy === b.id);
    expect(batchesStarted(c)).toBe(0);
    gates[1]!.open = true;
    await until('c promotes', () => batchesStarted(c) === 1);
    gates[2]!.open = true;
    for (const r of [a, b, c]) expect((await r.handle.result()).status).toBe('succeeded');
    expect(await waitingOf(c)).toBeUndefined();
    // The first found the lane free since its plan; the others were planned before a holder wrote.
    const contended = (r: { calls: Call[] }) => (r.calls.find((x) => x.activity === 'promoteBatch')!.args as PromoteBatchArgs).laneContended;
    expect([contended(a), contended(b), contended(c)]).toEqual([undefined, true, true]);
  });

  it('runs that write to different hosts are not held up by each other', async () => {
    const gate = new Gate();
    const a = await start({ copyTasks: 1, hosts: [laneHost('own-a')], gate }, { confirm: true });
    await until('a promotes', () => batchesStarted(a) === 1);
    // b shares no host with a: it runs to its end while a is still in Promote.
    const b = await run({ copyTasks: 2, hosts: [laneHost('own-b'), laneHost('own-c')] }, { confirm: true });
    expect(b.result!.status).toBe('succeeded');
    expect(names(b.calls).filter((n) => n === 'requestLane')).toHaveLength(2);
    expect((await a.handle.query(progressQuery)).currentPhase).toBe('promote');
    gate.open = true;
    expect((await a.handle.result()).status).toBe('succeeded');
  });

  it('a terminated holder loses its lane at the next lease check, and the waiting run goes on', async () => {
    const host = laneHost('terminated');
    // The lane checks its holder every 300 ms while others wait (default: a minute).
    await env.client.workflow.start(laneWorkflow, { taskQueue, workflowId: laneWorkflowId(taskQueue, host), args: [{ host, leaseCheckMs: 300 }] });
    const a = await start({ copyTasks: 1, hosts: [host], gate: new Gate() }, { confirm: true });
    await until('a promotes', () => batchesStarted(a) === 1);
    const b = await start({ copyTasks: 1, hosts: [host] }, { confirm: true });
    await until('b waits behind a', async () => (await waitingOf(b))?.heldBy === a.id);
    await a.handle.terminate('operator ended it');
    expect((await b.handle.result()).status).toBe('succeeded');
    expect(await env.client.workflow.getHandle(laneWorkflowId(taskQueue, host)).query(laneStateQuery)).toMatchObject({ waiting: [] });
    expect((await env.client.workflow.getHandle(laneWorkflowId(taskQueue, host)).query(laneStateQuery)).holder).toBeUndefined();
  });

  it('an idle lane ends; the run that starts it again is told the lane was held since its plan', async () => {
    const host = laneHost('idle');
    const lane = await env.client.workflow.start(laneWorkflow, { taskQueue, workflowId: laneWorkflowId(taskQueue, host), args: [{ host, idleMs: 200 }] });
    await lane.result();
    // Nothing records what a lane that ended had granted: its end stands for its last release.
    const r = await run({ copyTasks: 1, hosts: [host] }, { confirm: true });
    expect(r.result!.status).toBe('succeeded');
    expect((r.calls.find((x) => x.activity === 'promoteBatch')!.args as PromoteBatchArgs).laneContended).toBe(true);
  });

  it('a cancelled holder gives its lane back at once, without waiting for a lease check', async () => {
    const host = laneHost('cancelled');
    const a = await start({ copyTasks: 1, hosts: [host], gate: new Gate() }, { confirm: true });
    await until('a promotes', () => batchesStarted(a) === 1);
    const b = await start({ copyTasks: 1, hosts: [host] }, { confirm: true });
    await until('b waits behind a', async () => (await waitingOf(b))?.heldBy === a.id);
    const cancelledAt = Date.now();
    await a.handle.cancel();
    expect((await b.handle.result()).status).toBe('succeeded');
    // The lease check (a minute by default) played no part.
    expect(Date.now() - cancelledAt).toBeLessThan(30_000);
  });
});
