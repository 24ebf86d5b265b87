// Runs the real `promoter` command as a user would, in a child process.
import { fileURLToPath } from 'node:url';
import { runProcess, type ProcessResult } from '../../scripts/dev/run-process';

export const PROMOTER_BIN = fileURLToPath(new URL('../../bin/promoter.js', import.meta.url));

export type CliResult = ProcessResult;

export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): Promise<CliResult> {
  return runProcess(process.execPath, [PROMOTER_BIN, ...args], env, timeoutMs);
}

/** The JSON document a `--json` command printed on stdout. */
export function parseJsonOutput<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
