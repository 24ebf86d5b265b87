// The promoter worker as its own OS process (worker/main.ts in one node process, no tsx wrapper,
// or the built `promoter worker`), the way it runs in production: tests SIGKILL it mid-phase, the benchmark reads its memory and
// CPU from the kernel. Peak RSS is the kernel's VmHWM of that pid, reset between benchmark steps
// by writing 5 to /proc/<pid>/clear_refs.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, statusBytes } from './proc';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Builds dist/ (`compiled` workers run it) when it is missing or older than the sources. Done
 * before a measured or tested start, never inside one; a build lock keeps parallel callers apart.
 */
export function buildIfStale(): void {
  execFileSync(process.execPath, [`${ROOT}node_modules/tsx/dist/cli.mjs`, `${ROOT}scripts/build.ts`, '--if-stale', '--no-check'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export interface WorkerOptions {
  /** On top of this process's environment (PROMOTER_TASK_QUEUE, budgets, ...); undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** The built artifact (`bin/promoter.js worker`: dist/ and its prebuilt workflow bundle) instead of the sources. */
  compiled?: boolean;
  /** Options for node itself, before the script (`--heapsnapshot-signal=SIGTTIN`, ...). */
  nodeArgs?: string[];
  /** Everything the worker prints also goes to this file, and output() reads it back from there. */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface WorkerProcess {
  pid: number;
  child: ChildProcess;
  /** The members of a group (startWorkerGroup), or just this process. */
  members: WorkerProcess[];
  /** All the worker printed so far (its JSON log lines). */
  output(): string;
  /** Units of work this process logged so far: Promote batches, Sign and Attest activities, ... */
  workDone(): Record<string, number>;
  /** Peak resident set since the start or the last resetPeak(), in bytes. */
  peakRssBytes(): number;
  /** Current resident set, in bytes. */
  rssBytes(): number;
  /** Start a new peak (needs root or the same user; false when the kernel refused). */
  resetPeak(): boolean;
  cpuSeconds(): number;
  /** SIGTERM: graceful shutdown (SIGKILL after 30 s). */
  stop(): Promise<void>;
  /** SIGKILL: no graceful shutdown, no last heartbeat. Activities of a terminated run stop with it. */
  kill(): Promise<void>;
}

/** Starts `worker/main.ts` and resolves once it logged "worker started" (it polls the task queue then). */
export async function startWorkerProcess(o: WorkerOptions = {}): Promise<WorkerProcess> {
  const args = [...(o.nodeArgs ?? []), ...(o.compiled ? ['bin/promoter.js', 'worker'] : ['--import', 'tsx', 'worker/main.ts'])];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PROMOTER_LOG_LEVEL: 'info', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let file: WriteStream | undefined;
  let out = '';
  if (o.logFile) {
    const f = (file = createWriteStream(o.logFile));
    child.stdout!.pipe(f, { end: false });
    child.stderr!.pipe(f, { end: false });
    child.once('close', () => f.end());
  }
  // With a log file only the start is held here (the line that says the worker polls); without one, all of it.
  const keep = (d: Buffer): void => {
    if (!file || out.length < 100_000) out += d.toString();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const what = (): string => (o.logFile ? `; see ${o.logFile}` : `:\n${out}`);
  const timeoutMs = o.startTimeoutMs ?? 120_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in ${timeoutMs / 1000} s${what()}`)), timeoutMs);
    const check = setInterval(() => {
      if (out.includes('worker started')) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 100);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      reject(new Error(`worker exited ${code} during start${what()}`));
    });
  });
  const pid = child.pid!;
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const output = (): string => {
    if (!o.logFile) return out;
    try {
      return readFileSync(o.logFile, 'utf8');
    } catch {
      return out;
    }
  };
  const self: WorkerProcess = {
    pid,
    child,
    get members() {
      return [self];
    },
    output,
    workDone: () => workLogged(output()),
    peakRssBytes: () => statusBytes(pid, 'VmHWM'),
    rssBytes: () => statusBytes(pid, 'VmRSS'),
    resetPeak() {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    cpuSeconds: () => cpuSecondsOf(pid),
    async kill() {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return self;
}

/** Log messages that each mark one unit of work done. */
const WORK_MESSAGES: Record<string, string> = {
  'plan written': 'plan',
  'promote batch done': 'promoteBatches',
  'sign done': 'sign',
  'attest done': 'attest',
  'signature mirroring done': 'mirror',
};

function workLogged(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/"msg":"([^"]+)"/g)) {
    const unit = WORK_MESSAGES[m[1]!];
    if (unit) counts[unit] = (counts[unit] ?? 0) + 1;
  }
  return counts;
}

/** N workers on one task queue, seen as one: peak RSS is the largest member's, CPU their sum. */
export async function startWorkerGroup(n: number, options: (i: number) => WorkerOptions): Promise<WorkerProcess> {
  const members = await Promise.all(Array.from({ length: n }, (_, i) => startWorkerProcess(options(i))));
  if (n === 1) return members[0]!;
  const sumOf = (f: (w: WorkerProcess) => number): number => members.reduce((s, w) => s + f(w), 0);
  return {
    pid: members[0]!.pid,
    child: members[0]!.child,
    members,
    output: () => members.map((w) => w.output()).join(''),
    workDone: () => {
      const total: Record<string, number> = {};
      for (const w of members) for (const [k, v] of Object.entries(w.workDone())) total[k] = (total[k] ?? 0) + v;
      return total;
    },
    peakRssBytes: () => Math.max(...members.map((w) => w.peakRssBytes())),
    rssBytes: () => Math.max(...members.map((w) => w.rssBytes())),
    resetPeak: () => members.map((w) => w.resetPeak()).every(Boolean),
    cpuSeconds: () => sumOf((w) => w.cpuSeconds()),
    kill: async () => void (await Promise.all(members.map((w) => w.kill()))),
    stop: async () => void (await Promise.all(members.map((w) => w.stop()))),
  };
}
