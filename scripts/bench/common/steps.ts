// One measured step of a bench: what ran, how long, and what the registries saw. A step begins
// and ends with a marker in every registry's request log, so its requests are exactly those
// logged between the two; a promotion's requests are further split by phase, each phase with
// its requests in flight and (from the work it had) its critical-path floor.
import { loadavg } from 'node:os';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { mirrorCommand } from '../../../client/commands/mirror';
import { runCommand } from '../../../client/commands/run';
import type { Output } from '../../../client/output';
import { awaitReport } from '../../../client/report-source';
import { planKey } from '../../../lib/run/storage-keys';
import { auditStoreConfigFromEnv } from '../../../lib/storage/audit-store';
import type { MirrorReport } from '../../../lib/run/mirror-types';
import { PHASES } from '../../../lib/run/outcomes';
import type { RunReport } from '../../../lib/run/report';
import { progressQuery, type promotionWorkflow } from '../../../workflows/promotion';
import type { signatureMirrorWorkflow } from '../../../workflows/signature-mirror';
import type { WorkerProcess } from '../../dev/worker-process';
import type { AccessLog, InFlight, Tally } from './access-log';
import type { PromotionWork } from './critical-path';
import { runHistories, type RunHistories } from './histories';
import type { BenchRegistries } from './registries';
import type { RegsyncRun } from './regsync';

interface PhaseRecord {
  ms: number;
  tally: Tally;
  inFlight: InFlight;
  /** The largest worker RSS sampled inside the phase's window (0 if no sample fell in it). */
  peakRssBytes: number;
}

/** How often a step samples the worker's RSS, for the peak per phase. */
const RSS_SAMPLE_MS = 250;

/** A peer's own account of a step it ran (skopeo: one process per copy). */
export interface PeerRecord {
  tool: string;
  copies: number;
  parallelism: number;
  /** Sum of every process's own duration: what a sequential script would take, roughly. */
  sumProcessMs: number;
  failures: { what: string; error: string }[];
  cpuSeconds: number;
}

export interface StepRecord {
  name: string;
  /** Request-log step id. */
  step: number;
  wallMs: number;
  /** Epoch ms the step's work started and ended: the window of its requests in flight. */
  startedAtMs: number;
  endedAtMs: number;
  inFlight?: InFlight;
  /** Why the step stopped early (time limit), if it did. */
  partial?: string;
  tally: Tally;
  /** Promotions: per phase, by the phase's start and duration in the run's report (or progress). */
  phases?: Record<string, PhaseRecord>;
  /** Promotions: requests read outside every phase window (client side, report activity, boundaries). */
  outsidePhases?: number;
  /** Promotions: the largest worker RSS sampled after the last phase ended (the report activity). */
  afterPhasesPeakRssBytes?: number;
  workerPeakRssBytes: number;
  workerCpuSeconds: number;
  /** Each worker process: its peak RSS, CPU and the units of work it logged during the step. */
  workers?: { pid: number; peakRssBytes: number; cpuSeconds: number; work: Record<string, number> }[];
  registryCpuSeconds: Record<string, number>;
  /** 1-minute load average at the start and the end: the machine is shared. */
  load: [number, number];
  report?: RunReport;
  mirrorReport?: MirrorReport;
  histories?: RunHistories;
  planBytes?: number;
  regsync?: RegsyncRun;
  peer?: PeerRecord;
  /** Promotions: what the run had to do, for the phases' critical-path floors. */
  work?: PromotionWork;
  /** Phases as the progress query last showed them, for a run stopped by the time limit. */
  progressPhases?: RunReport['phases'];
}

export class StepRunner {
  private nextStep = 1;

  constructor(
    private readonly regs: BenchRegistries,
    private readonly log: AccessLog,
    public worker: WorkerProcess,
    private readonly client: Client,
    /** Time (performance.now()) after which running steps stop and later ones are skipped. */
    readonly deadline: number,
    /** Longest one step may run (ms). */
    readonly stepLimitMs = Infinity,
  ) {}

  private stepStarted = performance.now();

  /** What the running step has left: the smaller of its own limit and the bench's. */
  remainingMs(): number {
    return Math.min(this.deadline, this.stepStarted + this.stepLimitMs) - performance.now();
  }

  /** Time left for the bench as a whole. */
  benchRemainingMs(): number {
    return this.deadline - performance.now();
  }

  /** A marker that closes the previous step: whatever comes next (seeding, checks) is not counted. */
  async idle(): Promise<void> {
    await this.regs.mark(this.nextStep++);
  }

  /** Runs `work` as a measured step. */
  async measure(name: string, work: (rec: StepRecord) => Promise<void>): Promise<StepRecord> {
    const step = this.nextStep++;
    await this.regs.mark(step);
    this.worker.resetPeak();
    const cpu0 = this.worker.cpuSeconds();
    const members = this.worker.members;
    const before = members.map((w) => ({ cpu: w.cpuSeconds(), work: w.workDone() }));
    const regCpu0 = this.regs.cpuSeconds();
    const rec: StepRecord = {
      name,
      step,
      wallMs: 0,
      startedAtMs: Date.now(),
      endedAtMs: 0,
      tally: this.log.tally(-1),
      workerPeakRssBytes: 0,
      workerCpuSeconds: 0,
      registryCpuSeconds: {},
      load: [round1(loadavg()[0]!), 0],
    };
    const started = performance.now();
    this.stepStarted = started;
    const rss: RssSample[] = [];
    const sampler = setInterval(() => rss.push([Date.now(), this.worker.rssBytes()]), RSS_SAMPLE_MS);
    try {
      await work(rec);
    } finally {
      clearInterval(sampler);
      rec.wallMs ||= performance.now() - started;
      rec.endedAtMs = Date.now();
      await this.idle();
      rec.tally = this.log.tally(step);
      rec.inFlight = this.log.inFlight(step, { fromMs: rec.startedAtMs, toMs: rec.endedAtMs });
      rec.load[1] = round1(loadavg()[0]!);
      rec.workerPeakRssBytes = this.worker.peakRssBytes();
      rec.workerCpuSeconds = round1(this.worker.cpuSeconds() - cpu0);
      rec.workers = members.map((w, i) => {
        const work = w.workDone();
        for (const [k, v] of Object.entries(before[i]!.work)) work[k] = (work[k] ?? 0) - v;
        return {
          pid: w.pid,
          peakRssBytes: w.peakRssBytes(),
          cpuSeconds: round1(w.cpuSeconds() - before[i]!.cpu),
          work: Object.fromEntries(Object.entries(work).filter(([, v]) => v > 0)),
        };
      });
      const regCpu = this.regs.cpuSeconds();
      rec.registryCpuSeconds = Object.fromEntries(Object.entries(regCpu).map(([k, v]) => [k, round1(v - (regCpu0[k] ?? 0))]));
      const phases = rec.report?.phases ?? rec.progressPhases;
      if (phases) this.splitPhases(rec, phases, rss);
    }
    return rec;
  }

  /**
   * `promoter run --thin-manifest-dir DIR --confirm [--verify-tags]` (or a dry run), timed from the
   * command's start to its report. `work`: what the run has to do, for the critical-path floors.
   */
  promotion(name: string, dir: string, opts: { confirm: boolean; verifyTags?: boolean; work: PromotionWork }): Promise<StepRecord> {
    return this.measure(name, async (rec) => {
      rec.work = { ...opts.work, ...(opts.verifyTags ? { verifyTags: true } : {}), ...(opts.confirm ? {} : { dryRun: true }) };
      const started = performance.now();
      let ids: { workflowId: string; runId: string } | undefined;
      const out: Output = { print: () => undefined, info: () => undefined, json: (v) => (ids = v as typeof ids) };
      const code = await runCommand(
        { thinManifestDir: dir, confirm: opts.confirm, wait: false, json: true, ...(opts.verifyTags ? { verifyTags: true } : {}) },
        out,
      );
      if (code !== 0 || !ids) throw new Error(`promoter run --thin-manifest-dir ${dir} exited ${code}`);
      const handle = this.client.workflow.getHandle<typeof promotionWorkflow>(ids.workflowId, ids.runId);
      const outcome = await raceDeadline(awaitReport(this.client, ids.workflowId), this.remainingMs());
      rec.wallMs = performance.now() - started;
      if (outcome === 'timeout') {
        const progress = await handle.query(progressQuery).catch(() => undefined);
        await handle.terminate('bench time limit reached');
        rec.partial = `time limit reached in phase ${progress?.currentPhase ?? '?'} (batches ${progress?.batchesDone ?? '?'}/${progress?.batchesTotal ?? '?'}); workflow terminated`;
        rec.progressPhases = progress?.phases;
      } else {
        rec.report = outcome;
      }
      rec.histories = await runHistories(this.client, ids.workflowId, ids.runId).catch(() => undefined);
      // The plan's key follows from the run (also for a run stopped before its report).
      rec.planBytes = await objectSize(rec.report?.audit.planKey ?? planKey(ids.workflowId, ids.runId));
    });
  }

  /** `promoter mirror-signatures --thin-manifest-dir DIR --confirm`. */
  mirror(name: string, dir: string): Promise<StepRecord> {
    return this.measure(name, async (rec) => {
      const started = performance.now();
      let ids: { workflowId: string; runId: string } | undefined;
      const out: Output = { print: () => undefined, info: () => undefined, json: (v) => (ids = v as typeof ids) };
      const code = await mirrorCommand({ thinManifestDir: dir, confirm: true, wait: false, json: true }, out);
      if (code !== 0 || !ids) throw new Error(`promoter mirror-signatures exited ${code}`);
      const handle = this.client.workflow.getHandle<typeof signatureMirrorWorkflow>(ids.workflowId, ids.runId);
      const outcome = await raceDeadline(handle.result(), this.remainingMs());
      rec.wallMs = performance.now() - started;
      if (outcome === 'timeout') {
        await handle.terminate('bench time limit reached');
        rec.partial = 'time limit reached; workflow terminated';
      } else rec.mirrorReport = outcome;
      rec.histories = await runHistories(this.client, ids.workflowId, ids.runId).catch(() => undefined);
    });
  }

  private splitPhases(rec: StepRecord, phases: RunReport['phases'], rss: RssSample[]): void {
    rec.phases = {};
    let inside = 0;
    let lastEnd = 0;
    for (const p of PHASES) {
      const r = phases[p];
      if (!r?.startedAt) continue;
      const fromMs = Date.parse(r.startedAt);
      const ms = r.durationMs ?? Date.now() - fromMs;
      const window = { fromMs, toMs: fromMs + ms };
      const tally = this.log.tally(rec.step, window);
      inside += tally.requests;
      lastEnd = Math.max(lastEnd, window.toMs);
      rec.phases[p] = { ms, tally, inFlight: this.log.inFlight(rec.step, window), peakRssBytes: peakRss(rss, window.fromMs, window.toMs) };
    }
    rec.outsidePhases = rec.tally.requests - inside;
    if (lastEnd) rec.afterPhasesPeakRssBytes = peakRss(rss, lastEnd, Infinity);
  }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** [epoch ms, worker RSS bytes] */
type RssSample = [number, number];

const peakRss = (samples: RssSample[], fromMs: number, toMs: number): number =>
  samples.reduce((peak, [t, bytes]) => (t >= fromMs && t <= toMs ? Math.max(peak, bytes) : peak), 0);

async function raceDeadline<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, ms))));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Size of an object in the audit bucket (the plan document). */
async function objectSize(key: string): Promise<number | undefined> {
  const cfg = auditStoreConfigFromEnv();
  const s3 = new S3Client({ region: cfg.region, endpoint: cfg.endpoint, forcePathStyle: cfg.forcePathStyle });
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: cfg.bucket, Key: key }))).ContentLength;
  } catch {
    return undefined;
  } finally {
    s3.destroy();
  }
}
