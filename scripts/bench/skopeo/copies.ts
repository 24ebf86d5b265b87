// The baseline: the same copies done the way a script would, one `skopeo copy` process per image
// and destination, P of them at a time (like `xargs -P`). The bench registries speak plain HTTP,
// anonymous.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { mapPool } from '../../../lib/util/pool';
import { runProcess } from '../../dev/run-process';
import type { PeerRecord } from '../common/steps';

const execFileP = promisify(execFile);

export interface SkopeoCopy {
  src: string;
  dst: string;
}

function skopeoCopyArgs(c: SkopeoCopy): string[] {
  return ['copy', '--quiet', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${c.src}`, `docker://${c.dst}`];
}

export async function runSkopeoCopies(
  skopeo: string,
  copies: SkopeoCopy[],
  parallelism: number,
  onProgress?: (done: number) => void,
): Promise<Omit<PeerRecord, 'cpuSeconds'>> {
  const failures: PeerRecord['failures'] = [];
  let sum = 0;
  let done = 0;
  await mapPool(copies, parallelism, async (c) => {
    const r = await runProcess(skopeo, skopeoCopyArgs(c), {}, 600_000).catch((err: Error) => ({ code: -1, stderr: err.message, stdout: '', ms: 0 }));
    sum += r.ms;
    if (r.code !== 0) failures.push({ what: `${c.src} -> ${c.dst}`, error: r.stderr.trim().slice(-500) });
    onProgress?.(++done);
  });
  return { tool: 'skopeo', copies: copies.length, parallelism, sumProcessMs: sum, failures };
}

/** sha256 of the raw manifest skopeo reads at a reference, or the error it printed. */
export async function skopeoDigest(skopeo: string, reference: string): Promise<string> {
  try {
    const { stdout } = await execFileP(skopeo, ['inspect', '--raw', '--tls-verify=false', `docker://${reference}`], {
      encoding: 'buffer',
      maxBuffer: 16 << 20,
    });
    return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
  } catch (err) {
    return `error: ${String((err as { stderr?: Buffer }).stderr ?? err)
      .trim()
      .slice(-200)}`;
  }
}
