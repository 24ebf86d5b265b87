// up / down / status of the whole dev stack.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { components } from './components';
import type { Component } from './components';
import { ensureCredentials } from './credentials';
import { stackPaths } from './paths';
import { portOpen } from './probes';
import { logFile, logTail, runningPid, startDetached, stopProcess } from './processes';
import { writeRegistryConfigs } from './registry-config';
import { removeSigstoreNetwork } from './netns';
import { sigstoreNotes } from './sigstore';
import { ensureTlsMaterial } from './tls';
import { HOST } from './topology';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface UpOptions {
  /** Progress lines go here (default: nowhere). */
  log?: (line: string) => void;
}

export interface UpResult {
  started: string[];
  alreadyRunning: string[];
  durationMs: number;
}

function lockHolder(): number | undefined {
  try {
    const pid = Number(readFileSync(stackPaths.upLock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function lockAgeMs(): number {
  try {
    return Date.now() - statSync(stackPaths.upLock).mtimeMs;
  } catch {
    return Infinity;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Only one `up` at a time per checkout (tests and people may call it together). */
async function withUpLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(stackPaths.stack, { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      const fd = openSync(stackPaths.upLock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder();
      // A lock without a pid yet is being written right now: treat it as held for a few seconds.
      const holderAlive = holder !== undefined ? pidExists(holder) : lockAgeMs() < 5_000;
      if (!holderAlive) rmSync(stackPaths.upLock, { force: true });
      else if (Date.now() > deadline) throw new Error(`another "stack up" (pid ${holder}) holds ${stackPaths.upLock}`);
      else await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(stackPaths.upLock, { force: true });
  }
}

async function waitReady(component: Component, pid: number): Promise<void> {
  const deadline = Date.now() + component.startTimeoutMs;
  for (;;) {
    if (await component.ready()) return;
    if (runningPid(component.name) !== pid) {
      throw new Error(`${component.name} exited during start-up; last log lines (${logFile(component.name)}):\n${logTail(component.name)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${component.name} did not answer within ${component.startTimeoutMs / 1000}s; last log lines (${logFile(component.name)}):\n${logTail(component.name)}`);
    }
    await sleep(100);
  }
}

async function ensureComponent(component: Component, log: (line: string) => void): Promise<'started' | 'running'> {
  let pid = runningPid(component.name);
  if (pid !== undefined && (await component.ready())) {
    if (component.afterReadyAlways) await component.afterReady?.();
    return 'running';
  }
  if (pid === undefined) {
    for (const port of component.ports) {
      if (await portOpen(HOST, port)) {
        throw new Error(
          `${component.name}: port ${HOST}:${port} is already in use by a process this stack did not start ` +
            `(another checkout's stack? run "npm run stack -- down" there)`,
        );
      }
    }
    pid = startDetached(component.spec());
    log(`  starting ${component.name} (pid ${pid})`);
  } else {
    log(`  waiting for ${component.name} (pid ${pid})`);
  }
  await waitReady(component, pid);
  await component.afterReady?.();
  return 'started';
}

/** Brings every component up (idempotent: running ones are only checked). Throws with log excerpts on failure. */
export async function stackUp(options: UpOptions = {}): Promise<UpResult> {
  const log = options.log ?? (() => {});
  const began = Date.now();
  return withUpLock(async () => {
    ensureCredentials();
    ensureTlsMaterial();
    writeRegistryConfigs();
    for (const note of sigstoreNotes()) log(note);
    const outcomes = await Promise.allSettled(components.map((c) => ensureComponent(c, log)));
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    if (failures.length > 0) throw new Error(`stack up failed:\n${failures.join('\n\n')}`);
    const started = components.filter((_, i) => (outcomes[i] as PromiseFulfilledResult<string>).value === 'started').map((c) => c.name);
    const alreadyRunning = components.filter((c) => !started.includes(c.name)).map((c) => c.name);
    return { started, alreadyRunning, durationMs: Date.now() - began };
  });
}

/** Stops every component: SIGTERM, SIGKILL after `graceMs`. Returns the names that were running. */
export async function stackDown(options: { graceMs?: number } = {}): Promise<string[]> {
  const stopped = await Promise.all(components.map(async (c) => ((await stopProcess(c.name, options.graceMs)) ? c.name : undefined)));
  if (await removeSigstoreNetwork()) stopped.push('sigstore network namespace');
  return stopped.filter((name): name is string => name !== undefined);
}

export interface ComponentStatus {
  name: string;
  state: 'up' | 'down' | 'unhealthy';
  pid?: number;
  ports: number[];
}

export async function stackStatus(): Promise<ComponentStatus[]> {
  return Promise.all(
    components.map(async (c) => {
      const pid = runningPid(c.name);
      if (pid === undefined) return { name: c.name, state: 'down' as const, ports: c.ports };
      return { name: c.name, state: (await c.ready()) ? ('up' as const) : ('unhealthy' as const), pid, ports: c.ports };
    }),
  );
}
