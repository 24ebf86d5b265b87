// A worker as its own OS process, the way it runs in production, so tests can SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** SIGKILL the worker and everything it started: no graceful shutdown, no last heartbeat. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
  output(): string;
}

/**
 * `compiled`: the built artifact (`promoter worker`, dist/ and its prebuilt workflow bundle) instead
 * of the TypeScript sources through tsx; its pid is then the worker's own (Temporal identity pid@host).
 */
export async function startWorkerProcess(taskQueue: string, env: Record<string, string | undefined> = {}, opts: { compiled?: boolean } = {}): Promise<WorkerProcess> {
  const [command, args] = opts.compiled ? [process.execPath, [`${ROOT}bin/promoter.js`, 'worker']] : [`${ROOT}node_modules/.bin/tsx`, ['worker/main.ts']];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, PROMOTER_TASK_QUEUE: taskQueue, PROMOTER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so kill() reaches tsx's node child too
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${out}`)), 60_000);
    const check = setInterval(() => {
      if (out.includes('worker started')) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 100);
    child.on('exit', (code) => reject(new Error(`worker exited ${code}:\n${out}`)));
  });
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
    await exited;
  };
  return { child, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM'), output: () => out };
}
