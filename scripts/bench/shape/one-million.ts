/**
 * `--shape 1m`: the full Kubernetes scale on paper. 46,000 image groups (digests, one tag each,
 * about 13 per image name as in the corpus, 35 image names per project) to 22 registries each,
 * about 1 M edges, as a dry run: Setup, Plan, Provenance, Validate. Staging holds a 1% sample
 * of real images (the other digests are LOST, which costs Plan the same HEAD). Measured: the Plan
 * phase's time and requests, the worker's peak RSS, the plan document and the histories.
 */
import { createHash } from 'node:crypto';
import { BenchHarness } from '../common/harness';
import type { StepRecord } from '../common/steps';
import { stepFigures } from '../common/figures';
import { printStep } from '../common/print';
import { seedWorkload, writeThinManifests, type BenchImage, type BenchProject } from '../common/workload';
import { join } from 'node:path';
import { corpusImage } from './regions';

export interface OneMillionOptions {
  groups: number;
  registries: number;
  hosts: number;
  rttMs: number;
  rps: number;
  /** A worker heap snapshot the first time its RSS reaches this many MiB. */
  heapSnapshotAtMiB?: number;
  timeLimitMs: number;
  log: (line: string) => void;
}

export interface OneMillionResult {
  kind?: '1m';
  prefix: string;
  startedAt: string;
  options: Omit<OneMillionOptions, 'log'>;
  groups: number;
  edges: number;
  projects: number;
  imageNames: number;
  destinationRepositories: number;
  sourceRepositories: number;
  seeded: number;
  seedMs: number;
  step: StepRecord;
}

const DIGESTS_PER_IMAGE = 13;
const IMAGES_PER_PROJECT = 35;
const SAMPLE_EVERY = 100;

export async function runOneMillion(o: OneMillionOptions): Promise<OneMillionResult> {
  const startedAt = new Date().toISOString();
  const harness = await BenchHarness.start({
    kind: 'shape1m',
    hosts: o.hosts,
    rttMs: o.rttMs,
    rps: o.rps,
    timeLimitMs: o.timeLimitMs,
    heapSnapshotAtMiB: o.heapSnapshotAtMiB,
    log: o.log,
  });
  const { prefix, regs } = harness;
  harness.useRoles((repo) => (repo.includes('/staging/') ? 'staging' : repo.includes('/region-00/') ? 'primary' : 'mirror'), new Map());
  try {
    const projects: BenchProject[] = [];
    const images = new Map<string, BenchImage>();
    const sample: BenchProject[] = [];
    for (let g = 0; g < o.groups; g++) {
      const i = Math.floor(g / DIGESTS_PER_IMAGE);
      const p = Math.floor(i / IMAGES_PER_PROJECT);
      let project = projects[p];
      if (!project) {
        const name = `project-${String(p).padStart(4, '0')}`;
        const dests = Array.from(
          { length: o.registries },
          (_, r) => `${regs.destinations[r % o.hosts]!.address}/${prefix}/region-${String(r).padStart(2, '0')}/${name}`,
        );
        projects[p] = project = { name, source: `${regs.staging.address}/${prefix}/staging/${name}`, destinations: dests, images: [] };
      }
      const imageName = `image-${String(i).padStart(5, '0')}`;
      let img = project.images.find((x) => x.name === imageName);
      if (!img) project.images.push((img = { name: imageName, dmap: [] }));
      let digest = `sha256:${createHash('sha256').update(`${prefix}/${g}`).digest('hex')}`;
      if (g % SAMPLE_EVERY === 0) {
        const built = corpusImage(prefix, digest, false, 512, () => []);
        images.set(built.digest, built);
        digest = built.digest;
        sample.push({ ...project, images: [{ name: imageName, dmap: [[digest, []]] }] });
      }
      img.dmap.push([digest, [`v1.${g % DIGESTS_PER_IMAGE}.0`]]);
    }
    const seedStarted = performance.now();
    await seedWorkload(harness.registryClient, sample, images);
    const seedMs = performance.now() - seedStarted;
    const manifestsDir = join(harness.runDir, 'manifests');
    await writeThinManifests(manifestsDir, projects);
    const imageNames = projects.reduce((n, p) => n + p.images.length, 0);
    const edges = o.groups * o.registries;
    o.log(
      `1m shape: ${projects.length} projects, ${imageNames} images, ${o.groups} groups x ${o.registries} registries = ${edges} edges; ${sample.length} sample images seeded in ${(seedMs / 1000).toFixed(1)} s`,
    );

    const runner = await harness.startWorkers(1);
    o.log('dry run (setup, plan, provenance, validate)');
    const step = await harness.step(
      runner.promotion('dry-run', manifestsDir, { confirm: false, work: { copyTasks: edges, anyIndex: false, maxTags: 1, signatureFormat: 'both' } }),
    );
    return {
      kind: '1m',
      prefix,
      startedAt,
      options: { ...o, log: undefined } as unknown as OneMillionResult['options'],
      groups: o.groups,
      edges,
      projects: projects.length,
      imageNames,
      destinationRepositories: imageNames * o.registries,
      sourceRepositories: imageNames,
      seeded: sample.length,
      seedMs,
      step,
    };
  } finally {
    await harness.stop();
  }
}

export function oneMillionFigures(r: OneMillionResult) {
  const s = r.step;
  const plan = s.phases?.plan;
  const repositories = r.destinationRepositories + r.sourceRepositories;
  const peakMiB = Math.round((s.workerPeakRssBytes / 2 ** 20) * 10) / 10;
  const planDone = !!s.report && s.report.phases.plan.status === 'succeeded';
  return {
    prefix: r.prefix,
    startedAt: r.startedAt,
    shape: {
      projects: r.projects,
      imageNames: r.imageNames,
      groups: r.groups,
      edges: r.edges,
      destinationRepositories: r.destinationRepositories,
      sourceRepositories: r.sourceRepositories,
      seededSample: r.seeded,
    },
    wallSeconds: Math.round(s.wallMs / 100) / 10,
    partial: s.partial,
    status: s.report?.status,
    /** The dry run as a step of the other benches: per phase its requests, in flight and floor. */
    step: stepFigures(s, r.edges, r.options.rttMs ?? 0),
    plan: plan
      ? {
          seconds: Math.round(plan.ms / 10) / 100,
          requests: plan.tally.requests,
          perRepository: Math.round((plan.tally.requests / repositories) * 1000) / 1000,
          perEdge: Math.round((plan.tally.requests / r.edges) * 1000) / 1000,
          byKind: plan.tally.byKind,
          peakRssMiB: Math.round(plan.peakRssBytes / 2 ** 20),
        }
      : undefined,
    requests: s.tally.requests,
    edges: s.report?.edges,
    workerPeakRssMiB: peakMiB,
    workerCpuSeconds: s.workerCpuSeconds,
    registryCpuSeconds: s.registryCpuSeconds,
    planBytes: s.planBytes,
    histories: s.histories
      ? { maxEvents: s.histories.maxEvents, largestPayloadBytes: s.histories.largestPayloadBytes, largestPayloadWhere: s.histories.largestPayloadWhere }
      : undefined,
    failures: s.report ? { count: s.report.failureCount, first: s.report.failures.slice(0, 2) } : undefined,
    target: {
      // kpromo's own figure is about 700 MB at about 1 M edges; the time bound holds behind a real round trip.
      ok: planDone && s.workerPeakRssBytes <= 700 * 2 ** 20 && (plan?.ms ?? Infinity) <= 10 * 60_000,
      measured: `plan ${planDone ? `finished in ${Math.round((plan?.ms ?? 0) / 1000)} s` : 'did NOT finish'}, worker peak RSS ${peakMiB} MiB`,
      goal: 'Plan finishes in <= 10 min with worker RSS <= 700 MiB',
    },
  };
}

export function printOneMillion(f: ReturnType<typeof oneMillionFigures>): void {
  const line = (t = ''): void => console.log(t);
  line();
  line(`== 1m-shape dry run ${f.prefix} (${f.startedAt})`);
  line(
    `shape: ${f.shape.projects} projects, ${f.shape.imageNames} images, ${f.shape.groups} image groups -> ${f.shape.edges} edges; ${f.shape.destinationRepositories} destination + ${f.shape.sourceRepositories} source repositories; ${f.shape.seededSample} sample images in staging`,
  );
  printStep(f.step, line);
  if (f.plan)
    line(
      `plan: ${f.plan.seconds} s, ${f.plan.requests} requests = ${f.plan.perRepository} per repository, ${f.plan.perEdge} per edge; worker RSS in Plan up to ${f.plan.peakRssMiB} MiB`,
    );
  line(
    `worker peak RSS ${f.workerPeakRssMiB} MiB, CPU ${f.workerCpuSeconds} s; plan document ${f.planBytes ?? '-'} B; largest history ${f.histories?.maxEvents ?? '-'} events, largest payload ${f.histories?.largestPayloadBytes ?? '-'} B`,
  );
  if (f.failures) line(`predicted failures ${f.failures.count} (the unseeded digests are LOST)`);
  line(`target: ${f.target.ok ? 'PASS' : 'FAIL'} ${f.target.measured} [target: ${f.target.goal}]`);
}
