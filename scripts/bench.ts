/**
 * `npm run bench [-- --images N --repos R --layer-size BYTES --parallel P --sample K --rps N --skip-skopeo]`
 *
 * Promoter against `skopeo copy` on the dev stack (which must be up: `npm run stack -- up`):
 *   1. seed N generated images (10% multi-arch, shared base layers) into staging under a fresh
 *      prefix (not timed)
 *   2. promote them to production and both mirrors with a plain manifest and an in-process worker
 *   3. do the same copies with one `skopeo copy --all --preserve-digests` per image and destination,
 *      P processes at a time, into other repositories of the same registries
 *   4. rerun the same manifest (nothing left to do) and count its requests; again with --verify-tags
 *   5. spot-check random edges with `skopeo inspect --raw`
 * Prints the figures and writes them as JSON to .stack/bench/<prefix>.json.
 *
 * `npm run bench -- --shape k8s|1m ...` runs the Kubernetes-shaped benches instead
 * (scripts/bench/shape/run.ts and one-million.ts); `--startup` measures worker start-up
 * (scripts/bench/startup.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RegistryClient } from '../lib/oci';
import { stackEnv, stackPaths, stackStatus } from './stack';
import { figuresOf, type BenchResult } from './bench/figures';
import { printFigures } from './bench/print';
import { cpuDelta, cpuSnapshot, type CpuSnapshot } from './bench/probe';
import { measurePromotion, startBenchWorker } from './bench/promoter';
import { runSkopeoCopies, skopeoDigest, skopeoVersion, type SkopeoCopy } from './bench/skopeo';
import { plainManifest, seedWorkload, type WorkloadOptions } from './bench/workload';
import { shapeMain, shapeUsage } from './bench/shape/main';
import { startupMain } from './bench/startup';

const usage = 'usage: npm run bench -- [--images N] [--repos R] [--layer-size BYTES] [--parallel P] [--sample K] [--rps N] [--skip-skopeo]';

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer (got ${v})\n${usage}`);
  return n;
}

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

async function main(argv: string[]): Promise<number> {
  // `--shape k8s|1m`: the Kubernetes-shaped benches (scripts/bench/shape/), their own options.
  if (argv.some((a) => a === '--shape' || a.startsWith('--shape='))) return shapeMain(argv);
  // `--startup [--runs N]`: worker start-up time and idle RSS, from source and built (scripts/bench/startup.ts).
  if (argv.includes('--startup')) return startupMain(argv);
  const { values } = parseArgs({
    args: argv,
    options: {
      images: { type: 'string' },
      repos: { type: 'string' },
      'layer-size': { type: 'string' },
      parallel: { type: 'string' },
      sample: { type: 'string' },
      rps: { type: 'string' },
      'skip-skopeo': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(`${usage}\n${shapeUsage}`);
    return 0;
  }
  const images = positiveInt('images', values.images, 500);
  const opts: WorkloadOptions = {
    prefix: `bench-${Date.now().toString(36)}`,
    images,
    repos: positiveInt('repos', values.repos, Math.max(1, Math.ceil(images / 5))),
    layerSize: positiveInt('layer-size', values['layer-size'], 32 * 1024),
    bases: 5,
    multiArchEvery: 10,
  };
  const parallelism = positiveInt('parallel', values.parallel, 2 * availableParallelism());
  const sample = positiveInt('sample', values.sample, 10);

  const components = await stackStatus();
  const down = components.filter((c) => c.state !== 'up');
  if (down.length > 0) {
    console.error(`dev stack not up (${down.map((c) => `${c.name} ${c.state}`).join(', ')}): run \`npm run stack -- up\` first`);
    return 2;
  }
  Object.assign(process.env, stackEnv());
  // The worker's per-registry budget is a politeness limit for real registries (product default
  // 50 req/s, burst 100, PROMOTER_REGISTRY_RPS / _BURST). The bench talks to loopback registries and
  // measures the orchestration, so it lifts the budget to --rps (default 1000); `--rps 50` measures
  // the shipped default. The figures print which budget was in force.
  const rps = positiveInt('rps', values.rps, 1000);
  process.env.PROMOTER_REGISTRY_RPS = String(rps);
  process.env.PROMOTER_REGISTRY_BURST = String(Math.max(rps, 100));
  const env = stackEnv();
  const authfile = join(env.DOCKER_CONFIG!, 'config.json');
  const staging = env.PROMOTER_STAGING_REGISTRY!;
  const destinations = [env.PROMOTER_PRODUCTION_REGISTRY!, ...env.PROMOTER_MIRROR_REGISTRIES!.split(',')];
  const benchStarted = performance.now();
  const load: Record<string, number[]> = { start: loadavg() };

  // 1. The workload (not timed as part of either tool).
  log(`seeding ${opts.images} images in ${opts.repos} repositories into ${staging}/${opts.prefix} (layer size ${opts.layerSize} B)`);
  const seedStarted = performance.now();
  const client = RegistryClient.fromDockerConfig({ limits: { default: { requestsPerSecond: 1000, burst: 1000, concurrency: 16 } } });
  const workload = await seedWorkload(client, staging, opts, 6, (n) => n % 100 === 0 && log(`  seeded ${n}/${opts.images}`));
  const seedMs = performance.now() - seedStarted;
  log(`seeded in ${(seedMs / 1000).toFixed(1)} s: ${workload.manifests} manifests, ${workload.uniqueBlobs} distinct blobs, ${workload.uniqueBlobBytes} B`);

  const dir = join(stackPaths.stack, 'bench');
  await mkdir(dir, { recursive: true });
  const manifestFile = join(dir, `${opts.prefix}.promoter-manifest.yaml`);
  const promoterPrefix = `${opts.prefix}-p`;
  const skopeoPrefix = `${opts.prefix}-s`;
  await writeFile(manifestFile, plainManifest(workload, `${staging}/${opts.prefix}`, destinations.map((d) => `${d}/${promoterPrefix}`)));

  // 2. The promoter: a worker in this process, the real `promoter run --confirm --wait --json`.
  const worker = await startBenchWorker();
  let result: BenchResult;
  try {
    log(`promoter: run --manifest ${manifestFile} --confirm --wait (task queue ${worker.taskQueue})`);
    load.beforePromoter = loadavg();
    let cpu0 = cpuSnapshot(components);
    const first = await measurePromotion(worker, manifestFile);
    const cpuFirst = cpuDelta(cpu0, cpuSnapshot(components));
    load.afterPromoter = loadavg();
    log(`promoter: ${first.report.status} in ${(first.wallMs / 1000).toFixed(1)} s (exit ${first.exitCode})`);

    // 3. skopeo, one process per image and destination.
    const copies: SkopeoCopy[] = values['skip-skopeo']
      ? []
      : destinations.flatMap((d) => workload.images.map((img) => ({ src: `${staging}/${opts.prefix}/${img.name}@${img.digest}`, dst: `${d}/${skopeoPrefix}/${img.name}:${img.tag}` })));
    let skopeo;
    let cpuSkopeo: CpuSnapshot | undefined;
    if (copies.length > 0) {
      log(`skopeo: ${copies.length} x skopeo copy --all --preserve-digests, ${parallelism} at a time`);
      load.beforeSkopeo = loadavg();
      cpu0 = cpuSnapshot(components);
      skopeo = await runSkopeoCopies(copies, authfile, parallelism, (n) => n % 250 === 0 && log(`  skopeo ${n}/${copies.length}`));
      cpuSkopeo = cpuDelta(cpu0, cpuSnapshot(components));
      load.afterSkopeo = loadavg();
      log(`skopeo: ${(skopeo.wallMs / 1000).toFixed(1)} s, ${skopeo.failures.length} failed`);
    }

    // 4. The no-op rerun of the same manifest.
    log('promoter: no-op rerun of the same manifest');
    load.beforeRerun = loadavg();
    cpu0 = cpuSnapshot(components);
    const rerun = await measurePromotion(worker, manifestFile);
    const cpuRerun = cpuDelta(cpu0, cpuSnapshot(components));
    load.afterRerun = loadavg();
    log(`promoter rerun: ${rerun.report.status} in ${(rerun.wallMs / 1000).toFixed(1)} s`);
    // The rerun above trusts the tag record of earlier runs; --verify-tags HEADs every destination tag.
    log('promoter: no-op rerun with --verify-tags');
    const rerunVerified = await measurePromotion(worker, manifestFile, { verifyTags: true });
    log(`promoter rerun --verify-tags: ${rerunVerified.report.status} in ${(rerunVerified.wallMs / 1000).toFixed(1)} s`);

    // 5. Spot checks with an independent client.
    const checks: BenchResult['checks'] = [];
    const pick = (k: number) => {
      const edges = destinations.flatMap((d) => workload.images.map((img) => ({ d, img })));
      const out = [];
      for (let i = 0; i < k && edges.length > 0; i++) out.push(edges.splice(Math.floor(Math.random() * edges.length), 1)[0]!);
      return out;
    };
    for (const { d, img } of pick(sample)) {
      const refs = [`${d}/${promoterPrefix}/${img.name}:${img.tag}`, ...(skopeo ? [`${d}/${skopeoPrefix}/${img.name}:${img.tag}`] : [])];
      for (const ref of refs) {
        const got = await skopeoDigest(ref, authfile);
        checks.push({ ref, expected: img.digest, got, ok: got === img.digest });
      }
    }
    load.end = loadavg();

    result = {
      prefix: opts.prefix,
      startedAt: new Date(Date.now() - (performance.now() - benchStarted)).toISOString(),
      benchMs: performance.now() - benchStarted,
      seedMs,
      machine: { cpus: availableParallelism(), loadavg: load },
      workload,
      destinations,
      promoterLimits: worker.config.limits,
      first,
      rerun,
      rerunVerified,
      skopeo: skopeo ? { ...skopeo, version: await skopeoVersion() } : undefined,
      checks,
      cpu: { promoter: cpuFirst, skopeo: cpuSkopeo, rerun: cpuRerun },
    };
  } finally {
    await worker.stop();
  }

  const figures = figuresOf(result);
  printFigures(figures);
  const out = join(dir, `${opts.prefix}.json`);
  await writeFile(out, `${JSON.stringify({ figures, raw: result }, null, 2)}\n`);
  console.log(`\nfigures written to ${out}`);
  return figures.verdict.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
