// `npm run bench -- --shape k8s|1m [...]`: the shape benches' command line.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stackPaths, stackStatus } from '../../stack';
import { shapeFigures } from './figures';
import { oneMillionFigures, printOneMillion, runOneMillion } from './one-million';
import { printShapeFigures } from './print';
import { runShapeBench } from './run';

export const shapeUsage = `usage: npm run bench -- --shape k8s [--scale F | --projects N | --project NAME ...] [--hosts H] [--rtt MS]
                              [--layer-size BYTES] [--rps N] [--time-limit MIN] [--step-limit MIN] [--skip-regsync | --only-regsync] [--cosign-sample K] [--workers N] [--keep]
       npm run bench -- --shape k8s --figures .bench/RUN.json   (figures again from a run's raw records)
       npm run bench -- --shape 1m [--groups N] [--registries R] [--hosts H] [--rtt MS] [--rps N] [--time-limit MIN]`;

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

function num(name: string, v: string | undefined, fallback: number, check: (n: number) => boolean = (n) => n > 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new Error(`--${name}: bad value ${v}\n${shapeUsage}`);
  return n;
}

export async function shapeMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      shape: { type: 'string' },
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
      figures: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.figures) {
    // Figures again from a run's raw records (after a change to how figures are computed).
    const { raw } = JSON.parse(await readFile(values.figures, 'utf8')) as { raw: Parameters<typeof shapeFigures>[0] };
    const figures = shapeFigures(raw);
    printShapeFigures(figures);
    await writeFile(values.figures, `${JSON.stringify({ figures, raw }, null, 2)}\n`);
    return Object.values(figures.targets).every((t) => t.ok !== false) ? 0 : 1;
  }
  if (values.help) {
    console.log(shapeUsage);
    return 0;
  }
  const down = (await stackStatus()).filter((c) => c.state !== 'up');
  if (down.length > 0) {
    console.error(`dev stack not up (${down.map((c) => `${c.name} ${c.state}`).join(', ')}): run \`npm run stack -- up\` first`);
    return 2;
  }
  const hosts = num('hosts', values.hosts, 6, (n) => Number.isInteger(n) && n >= 1);
  const rttMs = num('rtt', values.rtt, 0, (n) => n >= 0);
  const rps = num('rps', values.rps, 1000);
  const timeLimitMs = num('time-limit', values['time-limit'], 75) * 60_000;
  const dir = join(stackPaths.root, '.bench');
  await mkdir(dir, { recursive: true });

  if (values.shape === '1m') {
    const r = await runOneMillion({
      groups: num('groups', values.groups, 46_000, Number.isInteger),
      registries: num('registries', values.registries, 22, Number.isInteger),
      hosts,
      rttMs,
      rps,
      timeLimitMs,
      log,
    });
    const figures = oneMillionFigures(r);
    printOneMillion(figures);
    const out = join(dir, `${r.prefix}.json`);
    await writeFile(out, `${JSON.stringify({ figures, raw: r }, null, 2)}\n`);
    console.log(`\nfigures written to ${out}`);
    return figures.target.ok ? 0 : 1;
  }
  if (values.shape !== 'k8s') throw new Error(`--shape must be k8s or 1m\n${shapeUsage}`);
  if (hosts < 6) throw new Error('--hosts: the k8s shape spreads its registries over at least 6 hosts');
  const result = await runShapeBench({
    selection: {
      ...(values.project?.length ? { projects: values.project } : {}),
      ...(values.projects ? { firstProjects: num('projects', values.projects, 0, (n) => Number.isInteger(n) && n > 0) } : {}),
      ...(values.scale ? { scale: num('scale', values.scale, 1, (n) => n > 0 && n <= 1) } : {}),
    },
    hosts,
    rttMs,
    layerSize: num('layer-size', values['layer-size'], 4096, Number.isInteger),
    rps,
    timeLimitMs,
    ...(values['step-limit'] ? { stepLimitMs: num('step-limit', values['step-limit'], 0) * 60_000 } : {}),
    skipRegsync: values['skip-regsync'],
    onlyRegsync: values['only-regsync'],
    cosignSample: num('cosign-sample', values['cosign-sample'], 3, (n) => Number.isInteger(n) && n >= 0),
    keep: values.keep,
    workers: num('workers', values.workers, 1, (n) => Number.isInteger(n) && n >= 1),
    log,
  });
  const figures = shapeFigures(result);
  printShapeFigures(figures);
  const out = join(dir, `${result.prefix}.json`);
  await writeFile(out, `${JSON.stringify({ figures, raw: result }, null, 2)}\n`);
  console.log(`\nfigures written to ${out}`);
  return Object.values(figures.targets).every((t) => t.ok !== false) ? 0 : 1;
}
