/**
 * `npm run bench [-- options]`: the promoter measured against the tools people use instead, on the
 * bench's own registries (the dev stack must be up for Temporal and S3).
 *   default        generated images, the promoter against skopeo and regsync (scripts/bench/skopeo/)
 *   --shape k8s    the Kubernetes corpus's shape, against regsync (scripts/bench/shape/run.ts)
 *   --shape 1m     the full Kubernetes scale on paper, a dry run (scripts/bench/shape/one-million.ts)
 *   --startup      worker start-up time and idle RSS, from source and built (scripts/bench/startup.ts)
 *   --figures FILE the figures again from a run's raw records (after a change to how they are computed)
 * The peers a run needs must run before any work starts. Figures print and go to .bench/<run>.json;
 * the exit code is 1 when a target is missed, 2 for bad usage, a stack that is down or a missing peer.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stackStatus } from '../dev/stack';
import { checkPeers, PeerMissing } from './common/peers';
import { benchDir } from './common/harness';
import { oneMillionFigures, printOneMillion, runOneMillion, type OneMillionResult } from './shape/one-million';
import { runShapeBench, type ShapeResult } from './shape/run';
import { printShapeFigures, shapeFigures, shapeTargetsMet } from './shape/targets';
import { runDefaultBench, type DefaultResult } from './skopeo/run';
import { defaultFigures, defaultTargetsMet, printDefaultFigures } from './skopeo/targets';
import { startupMain } from './startup';

export const usage = `usage: npm run bench -- [--images N] [--repos R] [--layer-size BYTES] [--parallel P] [--sample K] [--rps N] [--rtt MS]
                        [--skip-skopeo] [--skip-regsync] [--keep] [--heap-snapshot MIB]
       npm run bench -- --shape k8s [--scale F | --projects N | --project NAME ...] [--hosts H] [--rtt MS] [--layer-size BYTES] [--rps N]
                        [--time-limit MIN] [--step-limit MIN] [--skip-regsync | --only-regsync] [--cosign-sample K] [--workers N] [--keep] [--heap-snapshot MIB]
       npm run bench -- --shape 1m [--groups N] [--registries R] [--hosts H] [--rtt MS] [--rps N] [--time-limit MIN] [--heap-snapshot MIB]
       npm run bench -- --figures .bench/RUN.json   (figures again from a run's raw records)
       npm run bench -- --startup [--runs N]`;

class UsageError extends Error {}

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

function num(name: string, v: string | undefined, fallback: number, check: (n: number) => boolean = (n) => Number.isInteger(n) && n > 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name}: bad value ${v}`);
  return n;
}

const OPTIONS = {
  shape: { type: 'string' },
  figures: { type: 'string' },
  images: { type: 'string' },
  repos: { type: 'string' },
  parallel: { type: 'string' },
  sample: { type: 'string' },
  'skip-skopeo': { type: 'boolean' },
  scale: { type: 'string' },
  projects: { type: 'string' },
  project: { type: 'string', multiple: true },
  hosts: { type: 'string' },
  rtt: { type: 'string' },
  'layer-size': { type: 'string' },
  rps: { type: 'string' },
  'time-limit': { type: 'string' },
  'step-limit': { type: 'string' },
  'skip-regsync': { type: 'boolean' },
  'only-regsync': { type: 'boolean' },
  'cosign-sample': { type: 'string' },
  keep: { type: 'boolean' },
  workers: { type: 'string' },
  groups: { type: 'string' },
  registries: { type: 'string' },
  'heap-snapshot': { type: 'string' },
  help: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** Options that belong to another kind of run are refused rather than silently ignored. */
const ONLY: Record<string, string[]> = {
  default: ['images', 'repos', 'parallel', 'sample', 'skip-skopeo', 'layer-size', 'rps', 'rtt', 'skip-regsync', 'keep', 'heap-snapshot'],
  k8s: [
    'scale',
    'projects',
    'project',
    'hosts',
    'rtt',
    'layer-size',
    'rps',
    'time-limit',
    'step-limit',
    'skip-regsync',
    'only-regsync',
    'cosign-sample',
    'workers',
    'keep',
    'heap-snapshot',
  ],
  '1m': ['groups', 'registries', 'hosts', 'rtt', 'rps', 'time-limit', 'heap-snapshot'],
};

async function writeFigures(prefix: string, figures: unknown, raw: unknown): Promise<void> {
  await mkdir(benchDir(), { recursive: true });
  const out = join(benchDir(), `${prefix}.json`);
  await writeFile(out, `${JSON.stringify({ figures, raw }, null, 2)}\n`);
  console.log(`\nfigures written to ${out}`);
}

/** Prints the figures of any kind of run from its raw records; true when its targets are met. */
function figuresOf(raw: DefaultResult | ShapeResult | OneMillionResult): { figures: unknown; ok: boolean } {
  if ('kind' in raw && raw.kind === 'default') {
    const f = defaultFigures(raw);
    printDefaultFigures(f);
    return { figures: f, ok: defaultTargetsMet(f) };
  }
  if ('groups' in raw) {
    const f = oneMillionFigures(raw);
    printOneMillion(f);
    return { figures: f, ok: f.target.ok };
  }
  const f = shapeFigures(raw);
  printShapeFigures(f);
  return { figures: f, ok: shapeTargetsMet(f) };
}

async function run(values: Values): Promise<number> {
  if (values.figures) {
    const file = values.figures;
    const { raw } = JSON.parse(await readFile(file, 'utf8')) as { raw: DefaultResult | ShapeResult | OneMillionResult };
    const { figures, ok } = figuresOf(raw);
    await writeFile(file, `${JSON.stringify({ figures, raw }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  const kind = values.shape ?? 'default';
  if (!ONLY[kind]) throw new UsageError('--shape must be k8s or 1m');
  const foreign = Object.keys(values).filter((k) => k !== 'shape' && !ONLY[kind]!.includes(k));
  if (foreign.length)
    throw new UsageError(`${foreign.map((k) => `--${k}`).join(', ')}: not an option of ${kind === 'default' ? 'the default bench' : `--shape ${kind}`}`);
  const rttMs = num('rtt', values.rtt, 0, (n) => n >= 0);
  const rps = num('rps', values.rps, 1000);
  const hosts = num('hosts', values.hosts, 6);
  const timeLimitMs = num('time-limit', values['time-limit'], 75, (n) => n > 0) * 60_000;
  const heapSnapshotAtMiB = values['heap-snapshot'] ? num('heap-snapshot', values['heap-snapshot'], 0) : undefined;
  if (kind === 'k8s' && hosts < 6) throw new UsageError('--hosts: the k8s shape spreads its registries over at least 6 hosts');
  if (values['skip-regsync'] && values['only-regsync']) throw new UsageError('--skip-regsync and --only-regsync exclude each other');

  const down = (await stackStatus()).filter((c) => c.state !== 'up');
  if (down.length > 0) {
    console.error(`dev stack not up (${down.map((c) => `${c.name} ${c.state}`).join(', ')}): run \`npm run stack -- up\` first`);
    return 2;
  }
  // Before any work: a peer that cannot run would only show after the whole promotion.
  const peers = await checkPeers({ regsync: kind !== '1m' && !values['skip-regsync'], skopeo: kind === 'default' && !values['skip-skopeo'] });
  for (const [name, p] of [
    ['regsync', peers.regsync],
    ['skopeo', peers.skopeo],
  ] as const)
    if (p) log(`peer ${name}: ${p.version} (${p.bin})`);

  if (kind === '1m') {
    const r = await runOneMillion({
      groups: num('groups', values.groups, 46_000),
      registries: num('registries', values.registries, 22),
      hosts,
      rttMs,
      rps,
      timeLimitMs,
      heapSnapshotAtMiB,
      log,
    });
    const { figures, ok } = figuresOf(r);
    await writeFigures(r.prefix, figures, r);
    return ok ? 0 : 1;
  }
  if (kind === 'k8s') {
    const r = await runShapeBench({
      selection: {
        ...(values.project?.length ? { projects: values.project } : {}),
        ...(values.projects ? { firstProjects: num('projects', values.projects, 0) } : {}),
        ...(values.scale ? { scale: num('scale', values.scale, 1, (n) => n > 0 && n <= 1) } : {}),
      },
      hosts,
      rttMs,
      layerSize: num('layer-size', values['layer-size'], 4096),
      rps,
      timeLimitMs,
      ...(values['step-limit'] ? { stepLimitMs: num('step-limit', values['step-limit'], 0, (n) => n > 0) * 60_000 } : {}),
      skipRegsync: values['skip-regsync'],
      onlyRegsync: values['only-regsync'],
      cosignSample: num('cosign-sample', values['cosign-sample'], 3, (n) => Number.isInteger(n) && n >= 0),
      keep: values.keep,
      workers: num('workers', values.workers, 1),
      heapSnapshotAtMiB,
      peers,
      log,
    });
    const { figures, ok } = figuresOf(r);
    await writeFigures(r.prefix, figures, r);
    return ok ? 0 : 1;
  }
  const images = num('images', values.images, 500);
  const r = await runDefaultBench({
    images,
    repos: num('repos', values.repos, Math.max(1, Math.ceil(images / 5))),
    layerSize: num('layer-size', values['layer-size'], 32 * 1024),
    parallel: num('parallel', values.parallel, 2 * availableParallelism()),
    sample: num('sample', values.sample, 10, (n) => Number.isInteger(n) && n >= 0),
    rps,
    rttMs,
    skipSkopeo: values['skip-skopeo'],
    skipRegsync: values['skip-regsync'],
    keep: values.keep,
    heapSnapshotAtMiB,
    peers,
    log,
  });
  const { figures, ok } = figuresOf(r);
  await writeFigures(r.prefix, figures, r);
  return ok ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  // Its own options (--runs N), outside the harness.
  if (argv.includes('--startup')) return startupMain(argv);
  let values: Values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  try {
    return await run(values);
  } catch (err) {
    if (err instanceof UsageError) console.error(`${err.message}\n${usage}`);
    else if (err instanceof PeerMissing) console.error(`bench: ${err.message}`);
    else throw err;
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
