// Runs a command to completion with extra environment, no stdin and a hard time limit: the
// tests' CLI and cosign calls, and the benchmark's peers (skopeo, regsync) and cosign checks.
import { spawn } from 'node:child_process';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** Rejects only when the command cannot start at all (ENOENT, EACCES); a non-zero exit is a result. */
export function runProcess(
  bin: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 600_000,
  cwd?: string,
): Promise<ProcessResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started });
    });
  });
}
