/**
 * The default bench (`npm run bench [-- --images N ...]`): the promoter against skopeo and regsync
 * on the same generated workload, the same registries and in the same run:
 *   seed N images into the bench's staging registry (not timed) -> 1. a promotion to a primary
 *   and two mirrors with Sign and Attest -> 2. the same copies with one `skopeo copy --all
 *   --preserve-digests` per image and destination, P at a time -> 3. the same copies with
 *   `regsync once` (parallel 8) -> 4. a no-op rerun, then one with --verify-tags -> spot checks of
 *   random edges of every tool with `skopeo inspect --raw`.
 * Requests are counted by the registries' request logs for every tool alike; with --rtt a delay
 * proxy in front of each registry makes every request cost a real round trip.
 */
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { childrenCpuSeconds } from '../../dev/proc';
import type { PeerTools } from '../common/peers';
import { copyConfig, REGSYNC_PARALLEL, runRegsync } from '../common/regsync';
import { BenchHarness } from '../common/harness';
import type { StepRecord } from '../common/steps';
import { fullPromotion, peerDestination, type Workload } from '../common/workload';
import { runSkopeoCopies, skopeoDigest, type SkopeoCopy } from './copies';
import { generatedWorkload } from './generated';

export interface DefaultOptions {
  images: number;
  repos: number;
  layerSize: number;
  /** skopeo processes at a time. */
  parallel: number;
  /** Spot checks: random edges whose digest `skopeo inspect` reads at every tool's destination. */
  sample: number;
  rps: number;
  rttMs: number;
  skipSkopeo?: boolean;
  skipRegsync?: boolean;
  /** A worker heap snapshot the first time its RSS reaches this many MiB. */
  heapSnapshotAtMiB?: number;
  keep?: boolean;
  /** The peers checked at the start (main.ts). */
  peers: PeerTools;
  log: (line: string) => void;
}

interface SpotCheck {
  ref: string;
  expected: string;
  got: string;
  ok: boolean;
}

export interface DefaultResult {
  kind: 'default';
  prefix: string;
  startedAt: string;
  options: Omit<DefaultOptions, 'log'>;
  machine: { cpus: number; loadavg: Record<string, number[]> };
  workload: Workload['counts'] & { hosts: string[]; staging: string; rttMs: number; layerSize: number };
  seedMs: number;
  steps: StepRecord[];
  checks: SpotCheck[];
  workerPeakRssBytes: number;
  skipped: string[];
  accessLog: { rows: number; unparsed: number };
  peers: PeerTools;
}

/** Three destination hosts: the primary ("production") and two mirrors. */
const DESTINATIONS = 3;

/** Every (source, destination tag, digest) the workload promotes, for one tool's repositories. */
function copiesFor(w: Workload, tool: 'promoter' | 'skopeo' | 'regsync'): (SkopeoCopy & { digest: string })[] {
  const out: (SkopeoCopy & { digest: string })[] = [];
  for (const p of w.projects) {
    for (const img of p.images) {
      for (const [digest, tags] of img.dmap) {
        for (const d of p.destinations) {
          const dest = tool === 'promoter' ? d : peerDestination(w.prefix, d, tool);
          for (const tag of tags) out.push({ src: `${p.source}/${img.name}@${digest}`, dst: `${dest}/${img.name}:${tag}`, digest });
        }
      }
    }
  }
  return out;
}

export async function runDefaultBench(o: DefaultOptions): Promise<DefaultResult> {
  const startedAt = new Date().toISOString();
  const load: Record<string, number[]> = { start: loadavg() };
  const harness = await BenchHarness.start({
    kind: 'bench',
    hosts: DESTINATIONS,
    rttMs: o.rttMs,
    rps: o.rps,
    timeLimitMs: 24 * 3_600_000,
    keep: o.keep,
    heapSnapshotAtMiB: o.heapSnapshotAtMiB,
    log: o.log,
  });
  const { prefix, runDir, regs, steps } = harness;
  const skipped: string[] = [];
  try {
    const w = generatedWorkload({
      prefix,
      images: o.images,
      repos: o.repos,
      layerSize: o.layerSize,
      bases: 5,
      multiArchEvery: 10,
      staging: regs.staging.address,
      destinations: harness.destinations,
    });
    harness.useWorkload(w);
    const c = w.counts;
    o.log(
      `workload: ${c.digests} images (${c.multiArch} multi-arch) in ${c.imageNames} repositories -> ${DESTINATIONS} destinations = ${c.edges} edges; ${c.distinctBlobs} distinct blobs`,
    );
    const { seedMs, manifestsDir } = await harness.seed(w);
    const runner = await harness.startWorkers(1);

    o.log('1. promotion with Sign and Attest (both signature formats)');
    load.beforePromoter = loadavg();
    await harness.step(runner.promotion('promotion', manifestsDir, { confirm: true, work: fullPromotion(w) }));

    const skopeo = o.peers.skopeo?.bin;
    if (o.skipSkopeo || !skopeo) skipped.push('skopeo (--skip-skopeo)');
    else {
      const copies = copiesFor(w, 'skopeo');
      o.log(`2. skopeo: ${copies.length} x skopeo copy --all --preserve-digests, ${o.parallel} at a time`);
      load.beforeSkopeo = loadavg();
      await harness.step(
        runner.measure('skopeo-copy', async (rec) => {
          const cpu0 = childrenCpuSeconds();
          const run = await runSkopeoCopies(skopeo, copies, o.parallel, (n) => n % 250 === 0 && o.log(`  skopeo ${n}/${copies.length}`));
          rec.peer = { ...run, cpuSeconds: Math.round((childrenCpuSeconds() - cpu0) * 10) / 10 };
        }),
      );
    }

    const regsync = o.peers.regsync?.bin;
    if (o.skipRegsync || !regsync) skipped.push('regsync (--skip-regsync)');
    else {
      const cfg = copyConfig(
        w,
        regs.all.map((r) => r.address),
      );
      o.log(`3. regsync once: ${cfg.entries} image entries, parallel ${REGSYNC_PARALLEL}`);
      load.beforeRegsync = loadavg();
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
        }),
      );
    }

    const nothingToDo = { ...fullPromotion(w), copyTasks: 0 };
    o.log('4a. no-op rerun of the same manifests (trusting the tag record of earlier runs)');
    load.beforeRerun = loadavg();
    await harness.step(runner.promotion('rerun', manifestsDir, { confirm: true, work: nothingToDo }));
    o.log('4b. no-op rerun with --verify-tags (HEAD on every destination tag)');
    await harness.step(runner.promotion('rerun-verify-tags', manifestsDir, { confirm: true, verifyTags: true, work: nothingToDo }));

    const checks: SpotCheck[] = [];
    const inspector = o.peers.skopeo?.bin;
    if (!inspector) skipped.push('spot checks (skopeo inspect; skopeo skipped)');
    else {
      const tools = (['promoter', 'skopeo', 'regsync'] as const).filter((t) => t === 'promoter' || !skipped.some((s) => s.startsWith(t)));
      const edges = copiesFor(w, 'promoter');
      for (let k = 0; k < o.sample && edges.length > 0; k++) {
        const e = edges.splice(Math.floor(Math.random() * edges.length), 1)[0]!;
        for (const t of tools) {
          const ref = t === 'promoter' ? e.dst : peerDestination(prefix, e.dst, t);
          const got = await skopeoDigest(inspector, ref);
          checks.push({ ref, expected: e.digest, got, ok: got === e.digest });
        }
      }
    }
    load.end = loadavg();
    return {
      kind: 'default',
      prefix,
      startedAt,
      options: { ...o, log: undefined } as unknown as DefaultResult['options'],
      machine: { cpus: availableParallelism(), loadavg: load },
      workload: { ...c, hosts: harness.destinations, staging: regs.staging.address, rttMs: o.rttMs, layerSize: o.layerSize },
      seedMs,
      steps,
      checks,
      workerPeakRssBytes: harness.workerPeakRssBytes(),
      skipped,
      accessLog: { rows: harness.log.size, unparsed: harness.log.unparsed },
      peers: o.peers,
    };
  } finally {
    await harness.stop();
  }
}
