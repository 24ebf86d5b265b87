// Shared pieces of the OCI integration tests: a client on the dev stack's
// credentials and skopeo as an independent reader.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { RegistryClient, type RegistryClientOptions } from '../../../lib/oci';
import { skopeoTlsFlags } from '../../../scripts/dev/stack';
import { stack } from '../../support/stack-env';

const run = promisify(execFile);

export function stackClient(opts: RegistryClientOptions = {}): RegistryClient {
  return RegistryClient.fromDockerConfig({
    configPath: stack().dockerConfigFile,
    // Small chunks so that test-sized layers take the chunked PATCH path too.
    upload: { chunkSize: 128 * 1024, monolithicMaxBytes: 32 * 1024 },
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    ...opts,
  });
}

/** sha256 of what `skopeo inspect --raw` prints for a reference: the manifest digest as skopeo sees it. */
export async function skopeoRawDigest(ref: string): Promise<string> {
  const { stdout } = await run(
    'skopeo',
    ['inspect', '--raw', ...skopeoTlsFlags(ref.split('/')[0]!), '--authfile', stack().dockerConfigFile, `docker://${ref}`],
    { encoding: 'buffer', maxBuffer: 16 << 20 },
  );
  return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
}

/** `skopeo copy` to a local directory: pulls and verifies every blob of the image. Returns skopeo inspect's digest. */
export async function skopeoPullAndVerify(ref: string, dir: string): Promise<void> {
  await run(
    'skopeo',
    ['copy', '--all', ...skopeoTlsFlags(ref.split('/')[0]!, 'src'), '--src-authfile', stack().dockerConfigFile, `docker://${ref}`, `dir:${dir}`],
    { maxBuffer: 16 << 20 },
  );
}

export function writes(stats: ReturnType<RegistryClient['stats']>, host: string): number {
  const m = stats[host]?.byMethod ?? {};
  return (m.PUT ?? 0) + (m.POST ?? 0) + (m.PATCH ?? 0) + (m.DELETE ?? 0);
}

type Stats = ReturnType<RegistryClient['stats']>;

/** What a client sent after `before` (an earlier `stats()`): hosts and methods with nothing new are left out. */
export function statsSince(client: RegistryClient, before: Stats): Stats {
  const out: Stats = {};
  for (const [host, now] of Object.entries(client.stats())) {
    const was = before[host];
    const byMethod: Record<string, number> = {};
    for (const [m, n] of Object.entries(now.byMethod)) if (n - (was?.byMethod[m] ?? 0) > 0) byMethod[m] = n - (was?.byMethod[m] ?? 0);
    const total = now.total - (was?.total ?? 0);
    if (total > 0) out[host] = { total, byMethod, retries: now.retries - (was?.retries ?? 0), throttled: now.throttled - (was?.throttled ?? 0) };
  }
  return out;
}
