// up / down / status of the whole dev stack.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { components, type Component } from './components';
import { ensureCredentials } from './credentials';
import { stackPaths } from './paths';
import { ensureComponent } from './ensure';
import { postgres } from './postgres';
import { clusterComponents, ensureCluster } from './temporal-cluster';
import { runningPid, stopProcess } from './processes';
import { writeRegistryConfigs } from './registry-config';
import { removeSigstoreNetwork } from './netns';
import { sigstoreNotes } from './sigstore';
import { ensureTlsMaterial } from './tls';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface UpOptions {
  /** Progress lines go here (default: nowhere). */
  log?: (line: string) => void;
  /** Also the real Temporal cluster (PostgreSQL, four server services, TLS; see temporal-cluster.ts). */
  cluster?: boolean;
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

/** Brings every component up (idempotent: running ones are only checked). Throws with log excerpts on failure. */
export async function stackUp(options: UpOptions = {}): Promise<UpResult> {
  const log = options.log ?? (() => {});
  const began = Date.now();
  return withUpLock(async () => {
    ensureCredentials();
    ensureTlsMaterial();
    writeRegistryConfigs();
    for (const note of sigstoreNotes()) log(note);
    const cluster = options.cluster ? ensureCluster(log) : Promise.resolve([]);
    const outcomes = await Promise.allSettled(components.map((c) => ensureComponent(c, log)));
    const clusterOutcome = (await Promise.allSettled([cluster]))[0];
    const failures = [...outcomes, clusterOutcome].flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    if (failures.length > 0) throw new Error(`stack up failed:\n${failures.join('\n\n')}`);
    const clusterStarted = clusterOutcome.status === 'fulfilled' ? clusterOutcome.value : [];
    const started = [...components.filter((_, i) => (outcomes[i] as PromiseFulfilledResult<string>).value === 'started').map((c) => c.name), ...clusterStarted];
    const all = [...components.map((c) => c.name), ...(options.cluster ? clusterComponents.map((c) => c.name) : [])];
    const alreadyRunning = all.filter((name) => !started.includes(name));
    return { started, alreadyRunning, durationMs: Date.now() - began };
  });
}

/** Stops every component: SIGTERM, SIGKILL after `graceMs`. Returns the names that were running. */
export async function stackDown(options: { graceMs?: number } = {}): Promise<string[]> {
  // The cluster's services before its database, so none of them spends its shutdown on reconnecting.
  const stop = (list: Component[]) => Promise.all(list.map(async (c) => ((await stopProcess(c.name, options.graceMs, c.stopSignal)) ? c.name : undefined)));
  const clusterStopped = [...(await stop(clusterComponents.filter((c) => c !== postgres))), ...(await stop([postgres]))];
  const stopped = [...(await stop(components)), ...clusterStopped];
  if (await removeSigstoreNetwork()) stopped.push('sigstore network namespace');
  return stopped.filter((name): name is string => name !== undefined);
}

export interface ComponentStatus {
  name: string;
  state: 'up' | 'down' | 'unhealthy';
  pid?: number;
  ports: number[];
}

/** Every dev-stack component, and the cluster's when any of them runs (or `cluster` asks for them). */
export async function stackStatus(options: { cluster?: boolean } = {}): Promise<ComponentStatus[]> {
  const withCluster = options.cluster || clusterComponents.some((c) => runningPid(c.name) !== undefined);
  return Promise.all(
    [...components, ...(withCluster ? clusterComponents : [])].map(async (c) => {
      const pid = runningPid(c.name);
      if (pid === undefined) return { name: c.name, state: 'down' as const, ports: c.ports };
      return { name: c.name, state: (await c.ready()) ? ('up' as const) : ('unhealthy' as const), pid, ports: c.ports };
    }),
  );
}
