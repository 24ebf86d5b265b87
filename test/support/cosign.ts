// The real cosign CLI as a test oracle: find it and run it.
// Lookup order: $PROMOTER_COSIGN, the project's .tools/bin/cosign, then PATH.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cosignRegistryFlags } from '../../scripts/dev/stack';
import { runProcess } from '../../scripts/dev/run-process';

const PROJECT_COSIGN = fileURLToPath(new URL('../../.tools/bin/cosign', import.meta.url));

function executable(path: string | undefined): path is string {
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findCosign(): string | undefined {
  const fromEnv = process.env.PROMOTER_COSIGN;
  if (executable(fromEnv)) return fromEnv;
  if (executable(PROJECT_COSIGN)) return PROJECT_COSIGN;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'cosign');
    if (dir && executable(candidate)) return candidate;
  }
  return undefined;
}

export interface CosignResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The command line, for assertion messages (no secrets: passwords travel in env). */
  command: string;
}

/**
 * Runs cosign with extra environment (e.g. COSIGN_PASSWORD, DOCKER_CONFIG).
 * Never prompts: stdin is closed and COSIGN_YES is set.
 */
export async function runCosign(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): Promise<CosignResult> {
  const bin = findCosign();
  if (!bin) throw new Error('cosign not found: set PROMOTER_COSIGN, run scripts/setup.sh, or put cosign on PATH');
  return { ...(await runProcess(bin, args, { COSIGN_YES: 'true', ...env }, timeoutMs)), command: `cosign ${args.join(' ')}` };
}

/**
 * Flags that make cosign v3 work offline against the dev stack's registries (HTTPS with the stack
 * CA, or plain HTTP on loopback) with a key pair (no Rekor, no Fulcio, no TUF).
 */
export const COSIGN_OFFLINE = {
  /** `cosign sign` / `cosign attest`: sign with a key, write nothing to Rekor, no signing config from TUF. */
  sign: ['--tlog-upload=false', '--use-signing-config=false', ...cosignRegistryFlags()],
  /** `cosign verify` / `cosign verify-attestation` with `--key`. */
  verify: ['--insecure-ignore-tlog=true', ...cosignRegistryFlags()],
} as const;
