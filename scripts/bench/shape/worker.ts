// The promoter worker as its own process (worker/main.ts, one node process, no tsx wrapper), so
// its memory is its own: peak RSS is the kernel's VmHWM of that pid, reset between steps by
// writing 5 to /proc/<pid>/clear_refs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf, statusBytes } from './proc';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface WorkerProcess {
  pid: number;
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
  return {
    pid,
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
}
