// The baseline: the same copies done the way a script would, one `skopeo copy` process per image
// and destination, P of them at a time (like `xargs -P`).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { mapPool } from '../../lib/util/pool';
import { skopeoTlsFlags } from '../stack/client-trust';

const execFileP = promisify(execFile);

export interface SkopeoCopy {
  src: string;
  dst: string;
}

export interface SkopeoRun {
  copies: number;
  parallelism: number;
  wallMs: number;
  /** Sum of every process's own duration: what a sequential script (P = 1) would take, roughly. */
  sumProcessMs: number;
  failures: { copy: SkopeoCopy; stderr: string }[];
}

export function skopeoCopyArgs(c: SkopeoCopy, authfile: string): string[] {
  return ['copy', '--quiet', '--all', '--preserve-digests', ...skopeoTlsFlags(c.src.split('/')[0]!, 'src'), ...skopeoTlsFlags(c.dst.split('/')[0]!, 'dest'), '--authfile', authfile, `docker://${c.src}`, `docker://${c.dst}`];
}

function runOne(args: string[]): Promise<{ code: number; stderr: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code: code ?? -1, stderr, ms: performance.now() - started });
    });
  });
}

export async function runSkopeoCopies(copies: SkopeoCopy[], authfile: string, parallelism: number, onProgress?: (done: number) => void): Promise<SkopeoRun> {
  const failures: SkopeoRun['failures'] = [];
  let sum = 0;
  let done = 0;
  const started = performance.now();
  await mapPool(copies, parallelism, async (c) => {
    const r = await runOne(skopeoCopyArgs(c, authfile));
    sum += r.ms;
    if (r.code !== 0) failures.push({ copy: c, stderr: r.stderr.trim().slice(-500) });
    onProgress?.(++done);
  });
  const wallMs = performance.now() - started;
  return { copies: copies.length, parallelism, wallMs, sumProcessMs: sum, failures };
}

/** sha256 of the raw manifest skopeo reads at a reference, or the error it printed. */
export async function skopeoDigest(reference: string, authfile: string): Promise<string> {
  try {
    const { stdout } = await execFileP('skopeo', ['inspect', '--raw', ...skopeoTlsFlags(reference.split('/')[0]!), '--authfile', authfile, `docker://${reference}`], { encoding: 'buffer', maxBuffer: 16 << 20 });
    return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
  } catch (err) {
    return `error: ${String((err as { stderr?: Buffer }).stderr ?? err).trim().slice(-200)}`;
  }
}

export async function skopeoVersion(): Promise<string> {
  const { stdout } = await execFileP('skopeo', ['--version']);
  return stdout.trim();
}
