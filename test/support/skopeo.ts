// skopeo as an independent client: what does the registry really hold?
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { skopeoTlsFlags } from '../../scripts/dev/stack';
import { stack } from './stack-env';

const run = promisify(execFile);

/** sha256 digest of the raw manifest skopeo reads at `host/repo:tag` or `host/repo@digest`, or undefined if absent. */
export async function skopeoDigest(reference: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(
      'skopeo',
      ['inspect', '--raw', ...skopeoTlsFlags(reference.split('/')[0]!), '--authfile', stack().dockerConfigFile, `docker://${reference}`],
      { encoding: 'buffer', maxBuffer: 16 << 20 },
    );
    return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
  } catch (err) {
    if (/manifest unknown|not found|name unknown/i.test(String((err as { stderr?: Buffer }).stderr ?? err))) return undefined;
    throw err;
  }
}
