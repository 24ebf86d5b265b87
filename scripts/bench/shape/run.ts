/**
 * The k8s-shaped bench, in one invocation (`npm run bench -- --shape k8s`; the CI test calls it too):
 *   seed (not timed) -> 1. full promotion with Sign and Attest in both formats -> 2. no-op rerun
 *   -> 3. the daily case (one new digest) -> 4. mirror-signatures in sync, then after deleting the
 *   signatures of 1% of the digests on one mirror (checked, cosign-verified) -> 5. regsync: the
 *   same copies, then the signatures from the promoter's primary to its mirrors.
 * Requests are counted by the bench registries' request logs for both tools alike.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { stackEnv, toolPaths } from '../../dev/stack';
import type { PeerTools } from '../common/peers';
import { copyConfig, REGSYNC_PARALLEL, runRegsync, signatureConfig } from '../common/regsync';
import { BenchHarness } from '../common/harness';
import type { StepRecord } from '../common/steps';
import { fullPromotion, seedWorkload, writeThinManifests, type Workload } from '../common/workload';
import { readCorpus, selectCorpus, type Selection } from './corpus';
import { shapeWorkload, withDailyDigest } from './regions';
import { checkRepaired, cosignVerifySample, deleteSignatures, pickDamage, type CosignCheck, type RepairCheck } from './signatures';

export interface ShapeOptions {
  selection: Selection;
  /** Destination registry hosts (at least 6 for the k8s shape). */
  hosts: number;
  /** Delay in front of every bench registry, ms (0: none). */
  rttMs: number;
  layerSize: number;
  /** The worker's per-host request budget (loopback registries: lifted, like the default bench). */
  rps: number;
  /** Wall-clock budget of the measured steps; a step still running then stops with partial figures. */
  timeLimitMs: number;
  /** Longest any one step may run; a promotion stopped by it skips the steps that build on it, regsync still runs. */
  stepLimitMs?: number;
  skipRegsync?: boolean;
  /** Only regsync's copy (steps 1-4 and regsync's signature copy skipped). */
  onlyRegsync?: boolean;
  /** Repaired images whose signatures cosign verifies (both formats and the attestation). */
  cosignSample: number;
  /** A worker heap snapshot the first time its RSS reaches this many MiB. */
  heapSnapshotAtMiB?: number;
  /** Keep the registries' storage after the run. */
  keep?: boolean;
  /** Worker processes on the task queue (default 1): they share each registry's budget. */
  workers?: number;
  /** The peers checked at the start (main.ts): regsync unless skipped. */
  peers?: PeerTools;
  log: (line: string) => void;
}

export interface ShapeResult {
  kind?: 'k8s';
  prefix: string;
  startedAt: string;
  options: Omit<ShapeOptions, 'log'>;
  machine: { cpus: number };
  workload: Workload['counts'] & { hosts: string[]; staging: string; rttMs: number };
  seedMs: number;
  steps: StepRecord[];
  daily?: { project: string; image: string; digest: string; tag: string };
  damage?: { images: number; manifests: number; deleted: number; mirrorIndex: number };
  repair?: RepairCheck;
  cosign?: CosignCheck[];
  workerPeakRssBytes: number;
  skipped: string[];
  accessLog: { rows: number; unparsed: number };
  peers?: PeerTools;
}

export async function runShapeBench(o: ShapeOptions): Promise<ShapeResult> {
  const startedAt = new Date().toISOString();
  const corpus = selectCorpus(readCorpus(), o.selection);
  if (corpus.length === 0) throw new Error('the selection holds no project');
  const regsync = o.skipRegsync ? undefined : (o.peers?.regsync?.bin ?? toolPaths().regsync);
  if (!o.skipRegsync && !regsync) throw new Error('regsync not found: run `bash scripts/setup.sh`, or pass --skip-regsync');

  const { hosts, rttMs, rps, timeLimitMs, stepLimitMs, keep, heapSnapshotAtMiB, log } = o;
  const harness = await BenchHarness.start({ kind: 'shape', hosts, rttMs, rps, timeLimitMs, stepLimitMs, keep, heapSnapshotAtMiB, log });
  const { prefix, runDir, regs, steps } = harness;
  const skipped: string[] = [];
  try {
    const w = shapeWorkload(corpus, { prefix, staging: regs.staging.address, hosts: harness.destinations, layerSize: o.layerSize });
    harness.useWorkload(w);
    const c = w.counts;
    o.log(
      `workload: ${c.projects} projects, ${c.imageNames} images, ${c.digests} digests (${c.multiArch} multi-arch), ${c.edges} edges over ${c.destinationRegistries} destination registries on ${o.hosts} hosts`,
    );
    const { seedMs, manifestsDir } = await harness.seed(w);
    const runner = await harness.startWorkers(o.workers ?? 1);
    const client = harness.registryClient;
    const result: ShapeResult = {
      kind: 'k8s',
      prefix,
      startedAt,
      options: { ...o, log: undefined } as unknown as ShapeResult['options'],
      machine: { cpus: availableParallelism() },
      workload: { ...c, hosts: harness.destinations, staging: regs.staging.address, rttMs: o.rttMs },
      seedMs,
      steps,
      workerPeakRssBytes: 0,
      skipped,
      accessLog: { rows: 0, unparsed: 0 },
      ...(o.peers ? { peers: o.peers } : {}),
    };
    // Steps 2-4 and regsync's signature copy build on a finished promotion; regsync's copy does not.
    const timeLeft = (what: string, needsPromotion = true): boolean => {
      if (runner.benchRemainingMs() > 0 && !(needsPromotion && steps.some((s) => s.partial))) return true;
      skipped.push(what);
      return false;
    };

    if (o.onlyRegsync) skipped.push('promoter steps 1-4 (--only-regsync)');
    else {
      o.log('1. promotion with Sign and Attest (both signature formats)');
      const first = await harness.step(runner.promotion('promotion', manifestsDir, { confirm: true, work: fullPromotion(w) }));
      if (first.partial) await harness.restartWorkers();
    }
    const nothingToDo = { ...fullPromotion(w), copyTasks: 0 };
    if (!o.onlyRegsync && timeLeft('no-op rerun')) {
      o.log('2. no-op rerun');
      await harness.step(runner.promotion('rerun', manifestsDir, { confirm: true, work: nothingToDo }));
    }
    if (!o.onlyRegsync && timeLeft('daily case')) {
      const daily = withDailyDigest(w, w.projects[0]!.name, o.layerSize);
      result.daily = daily.added;
      await seedWorkload(client, daily.projects, w.images, daily.added);
      const dailyDir = join(runDir, 'manifests-daily');
      await writeThinManifests(dailyDir, daily.projects);
      const dailyTasks = new Set(daily.projects.find((p) => p.name === daily.added.project)!.destinations).size;
      o.log(`3. daily case: ${daily.added.image}@${daily.added.digest} -> ${daily.added.tag} in ${daily.added.project}`);
      await harness.step(runner.promotion('daily', dailyDir, { confirm: true, work: { ...nothingToDo, copyTasks: dailyTasks, anyIndex: false, maxTags: 1 } }));
      if (timeLeft('mirror-signatures')) {
        o.log('4a. mirror-signatures, everything in sync');
        await harness.step(runner.mirror('mirror-in-sync', dailyDir));
        const mirrorIndex = 1;
        const damaged = pickDamage(daily.projects, w.images, mirrorIndex, 0.01);
        const deleted = await deleteSignatures(client, damaged);
        result.damage = { images: damaged.length, manifests: damaged.reduce((n, d) => n + d.manifests.length, 0), deleted, mirrorIndex };
        await runner.idle(); // the deletions above are not part of any step
        if (timeLeft('mirror-signatures repair')) {
          o.log(`4b. mirror-signatures after deleting the signatures of ${damaged.length} image digests (${deleted} manifests) on mirror #${mirrorIndex}`);
          await harness.step(runner.mirror('mirror-repair', dailyDir));
          result.repair = await checkRepaired(client, damaged);
          const cosign = toolPaths().cosign;
          if (cosign && o.cosignSample > 0)
            result.cosign = await cosignVerifySample(cosign, stackEnv().PROMOTER_PUBLIC_KEY!, damaged, o.cosignSample, stackEnv());
          await runner.idle();
        }
      }
    }
    if (!regsync) skipped.push('regsync (--skip-regsync)');
    else if (timeLeft('regsync copy', false)) {
      const hosts = regs.all.map((r) => r.address);
      const cfg = copyConfig(w, hosts);
      o.log(`5a. regsync once: ${cfg.entries} image entries, parallel ${REGSYNC_PARALLEL}`);
      await harness.step(
        runner.measure('regsync-copy', async (rec) => {
          rec.regsync = await runRegsync(
            regsync,
            join(runDir, 'regsync-copy.yml'),
            cfg.yaml,
            cfg.entries,
            join(runDir, 'regsync-copy.log'),
            runner.remainingMs(),
          );
          if (rec.regsync.timedOut) rec.partial = 'time limit reached; regsync stopped';
        }),
      );
      if (!o.onlyRegsync && timeLeft('regsync signature copy')) {
        const sig = signatureConfig(w, hosts);
        o.log(`5b. regsync once: signatures from the promoter's primary to regsync's mirrors, ${sig.entries} entries (digestTags, referrers)`);
        await harness.step(
          runner.measure('regsync-signatures', async (rec) => {
            rec.regsync = await runRegsync(
              regsync,
              join(runDir, 'regsync-signatures.yml'),
              sig.yaml,
              sig.entries,
              join(runDir, 'regsync-signatures.log'),
              runner.remainingMs(),
            );
            if (rec.regsync.timedOut) rec.partial = 'time limit reached; regsync stopped';
          }),
        );
      }
    }
    result.workerPeakRssBytes = harness.workerPeakRssBytes();
    result.accessLog = { rows: harness.log.size, unparsed: harness.log.unparsed };
    return result;
  } finally {
    await harness.stop();
  }
}
