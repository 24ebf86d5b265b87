// Test-owned server processes (a registry with a bad certificate, an S3 server to stop and start):
// wait until one serves, stop one and wait for its exit.
import type { ChildProcess } from 'node:child_process';

/** Resolves once `ready()` holds; fails when the process exits first or 20 s pass. */
export async function waitServing(child: ChildProcess, ready: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await ready())) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then wait for the exit (nothing to do for a process already gone). */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
