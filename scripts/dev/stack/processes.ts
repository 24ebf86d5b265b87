// Detached background processes with pid files: they outlive the CLI that started them,
// and any later CLI invocation can find, check and stop them again.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stackPaths } from './paths';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** A prefix that execs `command` in place, e.g. `ip netns exec NAME`: the pid stays the command's. */
  launcher?: string[];
  /** Variables of this process's environment that the child must not inherit. */
  dropEnv?: RegExp;
}

interface PidRecord {
  pid: number;
  command: string;
  startedAt: string;
}

const pidFile = (name: string) => join(stackPaths.pids, `${name}.pid`);
export const logFile = (name: string) => join(stackPaths.logs, `${name}.log`);

function readPidRecord(name: string): PidRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(pidFile(name), 'utf8')) as PidRecord;
    return Number.isInteger(record.pid) && record.pid > 1 ? record : undefined;
  } catch {
    return undefined;
  }
}

/** True when the pid is a live (non-zombie) process. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A child we started in this same process stays a zombie until reaped; treat it as dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

/** The pid of our running process `name`, guarding against pid reuse via /proc cmdline. */
export function runningPid(name: string): number | undefined {
  const record = readPidRecord(name);
  if (!record || !pidAlive(record.pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    if (!cmdline.includes(record.command)) return undefined;
  } catch {
    // no /proc: accept the pid
  }
  return record.pid;
}

const inherited = (drop: RegExp | undefined) => (drop ? Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.test(name))) : process.env);

/** Starts a process detached in its own process group, output appended to .stack/logs/<name>.log. */
export function startDetached(spec: ProcessSpec): number {
  mkdirSync(stackPaths.logs, { recursive: true });
  mkdirSync(stackPaths.pids, { recursive: true });
  const fd = openSync(logFile(spec.name), 'a');
  writeSync(fd, `\n--- ${new Date().toISOString()} starting ${spec.name}\n`);
  try {
    const [launcher, ...launcherArgs] = spec.launcher ?? [];
    const child = spawn(launcher ?? spec.command, launcher ? [...launcherArgs, spec.command, ...spec.args] : spec.args, {
      cwd: spec.cwd ?? stackPaths.root,
      env: { ...inherited(spec.dropEnv), ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    const record: PidRecord = { pid: child.pid, command: spec.command, startedAt: new Date().toISOString() };
    writeFileSync(pidFile(spec.name), JSON.stringify(record) + '\n');
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal); // the whole process group (wrappers and their children)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SIGTERM (or `signal`, a process's own "shut down cleanly now"), then SIGKILL after `graceMs`;
 * resolves once the process is gone. Returns whether it was running.
 */
export async function stopProcess(name: string, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = runningPid(name);
  if (pid === undefined) {
    rmSync(pidFile(name), { force: true });
    return false;
  }
  signalGroup(pid, signal);
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (pidAlive(pid)) await sleep(50);
  }
  rmSync(pidFile(name), { force: true });
  return true;
}

/** Last lines of a component's log, to explain why it did not come up. */
export function logTail(name: string, lines = 20): string {
  const file = logFile(name);
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
