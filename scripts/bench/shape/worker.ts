// The promoter worker as its own process (worker/main.ts, one node process, no tsx wrapper), so
// its memory is its own: peak RSS is the kernel's VmHWM of that pid, reset between steps by
// writing 5 to /proc/<pid>/clear_refs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, statusBytes } from './proc';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface WorkerProcess {
  pid: number;
  /** The members of a group (workerGroup), or just this process. */
  members: WorkerProcess[];
  /** Units of work this process logged so far: Promote batches, Sign and Attest activities, ... */
  workDone(): Record<string, number>;
  /** Peak resident set since the start or the last resetPeak(), in bytes. */
  peakRssBytes(): number;
  /** Current resident set, in bytes. */
  rssBytes(): number;
  /** Start a new peak (needs root or the same user; false when the kernel refused). */
  resetPeak(): boolean;
  cpuSeconds(): number;
  stop(): Promise<void>;
  /** SIGKILL: activities of a terminated run keep going in a live worker until they next heartbeat. */
  kill(): Promise<void>;
}

export async function startWorkerProcess(env: Record<string, string>, logFile: string): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PROMOTER_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  let head = '';
  const watch = (d: Buffer): void => {
    if (head.length < 100_000) head += d;
  };
  child.stdout!.on('data', watch);
  child.stderr!.on('data', watch);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 120 s; see ${logFile}`)), 120_000);
    const check = setInterval(() => {
      if (head.includes('worker started')) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 100);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(check);
      reject(new Error(`worker exited ${code} during start; see ${logFile}`));
    });
  });
  const pid = child.pid!;
  const self: WorkerProcess = {
    pid,
    get members() {
      return [self];
    },
    workDone: () => workLogged(logFile),
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
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return;
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

function workLogged(logFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return counts;
  }
  for (const m of text.matchAll(/"msg":"([^"]+)"/g)) {
    const unit = WORK_MESSAGES[m[1]!];
    if (unit) counts[unit] = (counts[unit] ?? 0) + 1;
  }
  return counts;
}

/** N workers on one task queue, seen as one: peak RSS is the largest member's, CPU their sum. */
export async function startWorkerGroup(n: number, env: Record<string, string>, logFile: (i: number) => string): Promise<WorkerProcess> {
  const members = await Promise.all(Array.from({ length: n }, (_, i) => startWorkerProcess(env, logFile(i))));
  if (n === 1) return members[0]!;
  const sumOf = (f: (w: WorkerProcess) => number): number => members.reduce((s, w) => s + f(w), 0);
  return {
    pid: members[0]!.pid,
    members,
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
