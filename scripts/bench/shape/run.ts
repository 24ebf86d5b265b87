/**
 * The k8s-shaped bench, in one invocation (scripts/bench.ts --shape k8s; the CI test calls it too):
 *   seed (not timed) -> 1. full promotion with Sign and Attest in both formats -> 2. no-op rerun
 *   -> 3. the daily case (one new digest) -> 4. mirror-signatures in sync, then after deleting the
 *   signatures of 1% of the digests on one mirror (checked, cosign-verified) -> 5. regsync: the
 *   same copies, then the signatures from the promoter's primary to its mirrors.
 * Requests are counted by the bench registries' access logs for both tools alike.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { connectClient } from '../../../client/connect';
import { RegistryClient } from '../../../lib/oci';
import { stackEnv, stackPaths, toolPaths } from '../../stack';
import { AccessLog, type Role } from './access-log';
import { readCorpus, selectCorpus, type Selection } from './corpus';
import { copyConfig, REGSYNC_PARALLEL, runRegsync, signatureConfig } from './regsync';
import { removeTree, startBenchRegistries } from './registries';
import { checkRepaired, cosignVerifySample, deleteSignatures, pickDamage, type CosignCheck, type RepairCheck } from './signatures';
import { StepRunner, type StepRecord } from './steps';
import { startWorkerGroup, type WorkerProcess } from './worker';
import { seedShape, shapeWorkload, withDailyDigest, writeThinManifests, type ShapeWorkload } from './workload';

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
  /** Keep the registries' storage after the run. */
  keep?: boolean;
  /** Worker processes on the task queue (default 1): they share each registry's budget. */
  workers?: number;
  log: (line: string) => void;
}

export interface ShapeResult {
  prefix: string;
  startedAt: string;
  options: Omit<ShapeOptions, 'log'>;
  machine: { cpus: number };
  workload: ShapeWorkload['counts'] & { hosts: string[]; staging: string; rttMs: number };
  seedMs: number;
  steps: StepRecord[];
  daily?: { project: string; image: string; digest: string; tag: string };
  damage?: { images: number; manifests: number; deleted: number; mirrorIndex: number };
  repair?: RepairCheck;
  cosign?: CosignCheck[];
  workerPeakRssBytes: number;
  skipped: string[];
  accessLog: { rows: number; unparsed: number };
}

export async function runShapeBench(o: ShapeOptions): Promise<ShapeResult> {
  const startedAt = new Date().toISOString();
  const prefix = `shape-${Date.now().toString(36)}`;
  const runDir = join(stackPaths.root, '.bench', prefix);
  await mkdir(runDir, { recursive: true });
  const corpus = selectCorpus(readCorpus(), o.selection);
  if (corpus.length === 0) throw new Error('the selection holds no project');

  Object.assign(process.env, stackEnv());
  const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
  const workerEnv = {
    ...stackEnv(),
    PROMOTER_TASK_QUEUE: taskQueue,
    PROMOTER_SIGNATURE_FORMAT: 'both',
    PROMOTER_REGISTRY_RPS: String(o.rps),
    PROMOTER_REGISTRY_BURST: String(Math.max(o.rps, 100)),
  };
  Object.assign(process.env, workerEnv); // the CLI code in this process starts runs on that queue

  // Roles by repository path: written before the workload exists, filled in once it does.
  let classify: (repository: string) => Role = () => 'other';
  let workload: ShapeWorkload | undefined;
  const log = new AccessLog((r) => classify(r), new Map());
  o.log(`starting ${o.hosts} destination registries and a staging registry${o.rttMs ? ` behind ${o.rttMs} ms delay proxies` : ''}`);
  const regs = await startBenchRegistries({ dir: join(runDir, 'registries'), hosts: o.hosts, rttMs: o.rttMs, log });
  const skipped: string[] = [];
  let worker: WorkerProcess | undefined;
  try {
    workload = shapeWorkload(corpus, { prefix, staging: regs.staging.address, hosts: regs.destinations.map((r) => r.address), layerSize: o.layerSize });
    const w = workload;
    log.blobSizes = w.blobSizes;
    classify = roleClassifier(w);
    const c = w.counts;
    o.log(`workload: ${c.projects} projects, ${c.imageNames} images, ${c.digests} digests (${c.multiArch} multi-arch), ${c.edges} edges over ${c.destinationRegistries} destination registries on ${o.hosts} hosts`);

    const client = RegistryClient.fromDockerConfig({ limits: { default: { requestsPerSecond: 2000, burst: 2000, concurrency: 16 } } });
    const seedStarted = performance.now();
    await seedShape(client, w.projects, w.images, undefined, (n, of) => o.log(`  seeded ${n}/${of}`));
    const seedMs = performance.now() - seedStarted;
    const manifestsDir = join(runDir, 'manifests');
    await writeThinManifests(manifestsDir, w.projects);
    o.log(`seeded staging in ${(seedMs / 1000).toFixed(1)} s (not measured); manifests in ${manifestsDir}`);

    const workers = o.workers ?? 1;
    const logFile = (generation: string) => (i: number) => join(runDir, `worker${generation}${workers > 1 ? `-${i + 1}` : ''}.log`);
    worker = await startWorkerGroup(workers, workerEnv, logFile(''));
    const { client: temporal, close } = await connectClient();
    const steps: StepRecord[] = [];
    const result: ShapeResult = {
      prefix,
      startedAt,
      options: { ...o, log: undefined } as unknown as ShapeResult['options'],
      machine: { cpus: availableParallelism() },
      workload: { ...c, hosts: regs.destinations.map((r) => r.address), staging: regs.staging.address, rttMs: o.rttMs },
      seedMs,
      steps,
      workerPeakRssBytes: 0,
      skipped,
      accessLog: { rows: 0, unparsed: 0 },
    };
    try {
      const runner = new StepRunner(regs, log, worker, temporal, performance.now() + o.timeLimitMs, o.stepLimitMs);
      await runner.idle();
      // Steps 2-4 and regsync's signature copy build on a finished promotion; regsync's copy does not.
      const timeLeft = (what: string, needsPromotion = true): boolean => {
        if (runner.benchRemainingMs() > 0 && !(needsPromotion && steps.some((s) => s.partial))) return true;
        skipped.push(what);
        return false;
      };
      const step = async (s: Promise<StepRecord>): Promise<StepRecord> => {
        const r = await s;
        steps.push(r);
        o.log(`${r.name}: ${(r.wallMs / 1000).toFixed(1)} s, ${r.tally.requests} requests${r.partial ? ` (PARTIAL: ${r.partial})` : ''}`);
        return r;
      };

      if (o.onlyRegsync) skipped.push('promoter steps 1-4 (--only-regsync)');
      else {
        o.log('1. promotion with Sign and Attest (both signature formats)');
        const first = await step(runner.promotion('promotion', manifestsDir, { confirm: true }));
        if (first.partial) {
          // The terminated run's activity would go on in this worker and load the registries under
          // the next steps: a fresh worker instead.
          await worker.kill();
          runner.worker = worker = await startWorkerGroup(workers, workerEnv, logFile('-restarted'));
        }
      }
      if (!o.onlyRegsync && timeLeft('no-op rerun')) {
        o.log('2. no-op rerun');
        await step(runner.promotion('rerun', manifestsDir, { confirm: true }));
      }
      if (!o.onlyRegsync && timeLeft('daily case')) {
        const daily = withDailyDigest(w, w.projects[0]!.name, o.layerSize);
        result.daily = daily.added;
        await seedShape(client, daily.projects, w.images, daily.added);
        const dailyDir = join(runDir, 'manifests-daily');
        await writeThinManifests(dailyDir, daily.projects);
        o.log(`3. daily case: ${daily.added.image}@${daily.added.digest} -> ${daily.added.tag} in ${daily.added.project}`);
        await step(runner.promotion('daily', dailyDir, { confirm: true }));
        if (timeLeft('mirror-signatures')) {
          o.log('4a. mirror-signatures, everything in sync');
          await step(runner.mirror('mirror-in-sync', dailyDir));
          const mirrorIndex = 1;
          const damaged = pickDamage(daily.projects, w.images, mirrorIndex, 0.01);
          const deleted = await deleteSignatures(client, damaged);
          result.damage = { images: damaged.length, manifests: damaged.reduce((n, d) => n + d.manifests.length, 0), deleted, mirrorIndex };
          await runner.idle(); // the deletions above are not part of any step
          if (timeLeft('mirror-signatures repair')) {
            o.log(`4b. mirror-signatures after deleting the signatures of ${damaged.length} image digests (${deleted} manifests) on mirror #${mirrorIndex}`);
            await step(runner.mirror('mirror-repair', dailyDir));
            result.repair = await checkRepaired(client, damaged);
            const cosign = toolPaths().cosign;
            if (cosign && o.cosignSample > 0) result.cosign = await cosignVerifySample(cosign, stackEnv().PROMOTER_PUBLIC_KEY!, damaged, o.cosignSample, stackEnv());
            await runner.idle();
          }
        }
      }
      if (o.skipRegsync) skipped.push('regsync (--skip-regsync)');
      else if (timeLeft('regsync copy', false)) {
        const hosts = regs.all.map((r) => r.address);
        const cfg = copyConfig(w.projects, hosts);
        o.log(`5a. regsync once: ${cfg.entries} image entries, parallel ${REGSYNC_PARALLEL}`);
        await step(
          runner.measure('regsync-copy', async (rec) => {
            rec.regsync = await runRegsync(join(runDir, 'regsync-copy.yml'), cfg.yaml, cfg.entries, join(runDir, 'regsync-copy.log'), runner.remainingMs());
            if (rec.regsync.timedOut) rec.partial = 'time limit reached; regsync stopped';
          }),
        );
        if (!o.onlyRegsync && timeLeft('regsync signature copy')) {
          const sig = signatureConfig(w.projects, hosts);
          o.log(`5b. regsync once: signatures from the promoter's primary to regsync's mirrors, ${sig.entries} entries (digestTags, referrers)`);
          await step(
            runner.measure('regsync-signatures', async (rec) => {
              rec.regsync = await runRegsync(join(runDir, 'regsync-signatures.yml'), sig.yaml, sig.entries, join(runDir, 'regsync-signatures.log'), runner.remainingMs());
              if (rec.regsync.timedOut) rec.partial = 'time limit reached; regsync stopped';
            }),
          );
        }
      }
      result.workerPeakRssBytes = Math.max(0, ...steps.map((s) => s.workerPeakRssBytes));
      result.accessLog = { rows: log.size, unparsed: log.unparsed };
      return result;
    } finally {
      await close();
    }
  } finally {
    await worker?.stop();
    await regs.stop();
    if (!o.keep) await removeTree(join(runDir, 'registries'));
  }
}

/** staging, primary (a project's first destination) or mirror, by the repository a request names. */
function roleClassifier(w: ShapeWorkload): (repository: string) => Role {
  const roles = new Map<string, Role>();
  const pathOf = (registry: string): string => registry.slice(registry.indexOf('/') + 1);
  for (const p of w.projects) {
    roles.set(pathOf(p.source), 'staging');
    p.destinations.forEach((d, i) => roles.set(pathOf(d), i === 0 ? 'primary' : 'mirror'));
    p.regsyncDestinations.forEach((d, i) => roles.set(pathOf(d), i === 0 ? 'primary' : 'mirror'));
  }
  // The registry path is the repository minus the image name (which may hold slashes itself).
  return (repository) => {
    for (let i = repository.lastIndexOf('/'); i > 0; i = repository.lastIndexOf('/', i - 1)) {
      const role = roles.get(repository.slice(0, i));
      if (role) return role;
    }
    return 'other';
  };
}
