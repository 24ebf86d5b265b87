/**
 * `npm run bench -- --startup [--runs N]`: worker start-up time and idle memory, the way it ran
 * before there was a build (tsx, the workflow code bundled at every start) against the built
 * artifact (`promoter worker`: compiled JavaScript and the prebuilt workflow bundle).
 *
 * Each run starts one worker process on a fresh task queue of the dev stack's Temporal (which must
 * be up), times it from spawn to its "worker started" line, leaves it idle for a few seconds, sums
 * the RSS of its process group (tsx runs the code in a child process) and stops it with SIGTERM.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackEnv } from '../dev/stack';
import { buildIfStale } from '../dev/worker-process';
import { benchDir } from './common/harness';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IDLE_MS = 5_000;

interface Mode {
  name: string;
  command: string;
  args: string[];
}

const MODES: Mode[] = [
  { name: 'from source (tsx, bundled at start)', command: `${ROOT}node_modules/.bin/tsx`, args: ['worker/main.ts'] },
  { name: 'built (dist/, prebuilt bundle)', command: process.execPath, args: ['bin/promoter.js', 'worker'] },
];

interface StartupRun {
  startupMs: number;
  idleRssMiB: number;
}

/** RSS of every process in the group, in MiB (the kernel's VmRSS). */
function groupRssMiB(pgid: number): number {
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue; // field 5 of stat: the process group
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) kib += Number(rss[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

async function once(mode: Mode, env: NodeJS.ProcessEnv): Promise<StartupRun> {
  const started = performance.now();
  const child = spawn(mode.command, mode.args, {
    cwd: ROOT,
    env: { ...env, PROMOTER_TASK_QUEUE: `startup-${randomBytes(4).toString('hex')}`, PROMOTER_METRICS_ADDRESS: 'off', PROMOTER_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const startupMs = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('worker started')) {
        clearInterval(timer);
        resolve(performance.now() - started);
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`worker exited ${code} before it started:\n${out.slice(-2000)}`));
    });
  });
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idleRssMiB = groupRssMiB(child.pid!);
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
  return { startupMs, idleRssMiB };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function startupMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--runs');
  const runs = i >= 0 ? Number(argv[i + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const env = { ...process.env, ...stackEnv() };
  // The built mode measures a warm start: build now if dist/ is stale, not inside a timed start.
  buildIfStale();
  const results: Record<string, StartupRun[]> = {};
  for (let r = 0; r < runs; r++) {
    // Alternate the modes, so a change in the machine's load hits both alike.
    for (const mode of MODES) {
      const run = await once(mode, env);
      (results[mode.name] ??= []).push(run);
      process.stderr.write(`  ${mode.name}: started in ${(run.startupMs / 1000).toFixed(2)} s, idle RSS ${run.idleRssMiB.toFixed(0)} MiB\n`);
    }
  }
  console.log(`\nworker start-up (median of ${runs}; spawn to "worker started") and idle RSS (${IDLE_MS / 1000} s after start, whole process group)`);
  for (const [name, rs] of Object.entries(results)) {
    const ms = rs.map((x) => x.startupMs);
    console.log(
      `  ${name.padEnd(40)} ${(median(ms) / 1000).toFixed(2)} s (min ${(Math.min(...ms) / 1000).toFixed(2)}, max ${(Math.max(...ms) / 1000).toFixed(2)})   ${median(rs.map((x) => x.idleRssMiB)).toFixed(0)} MiB`,
    );
  }
  const dir = benchDir();
  await mkdir(dir, { recursive: true });
  const file = join(dir, `startup-${Date.now().toString(36)}.json`);
  await writeFile(file, `${JSON.stringify({ runs, idleMs: IDLE_MS, results }, null, 2)}\n`);
  console.log(`\nfigures written to ${file}`);
  return 0;
}
