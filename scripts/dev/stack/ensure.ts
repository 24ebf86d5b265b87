// Starting one component of the stack and waiting until it serves (shared by the dev stack and the cluster).
import type { Component } from './components';
import { portOpen } from './probes';
import { logFile, logTail, pidAlive, runningPid, startDetached } from './processes';
import { HOST } from './topology';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(component: Component, pid: number): Promise<void> {
  const deadline = Date.now() + component.startTimeoutMs;
  for (;;) {
    if (await component.ready()) return;
    // The pid we just started, not runningPid's cmdline check: a launcher (unshare) exec'ing into the
    // command can read differently for a moment, and a PostgreSQL restart once failed on that alone.
    if (!pidAlive(pid)) {
      throw new Error(`${component.name} exited during start-up; last log lines (${logFile(component.name)}):\n${logTail(component.name)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${component.name} did not answer within ${component.startTimeoutMs / 1000}s; last log lines (${logFile(component.name)}):\n${logTail(component.name)}`,
      );
    }
    await sleep(100);
  }
}

/** Starts the component unless it runs and answers, then waits until it does; throws with log lines. */
export async function ensureComponent(component: Component, log: (line: string) => void): Promise<'started' | 'running'> {
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
