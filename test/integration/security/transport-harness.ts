// What the transport attack tests share: a worker with its own environment, a promotion run
// through the real CLI, seeded staging images, and the checks a user would make afterwards
// (what a registry holds, whether anything was signed).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestTag, RegistryClient } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage, type SeededImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli, type CliResult } from '../../support/cli';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack } from '../../support/stack-env';

/** A client of the real registries (never through a proxy), to look at what they hold. */
export function stackOci(): RegistryClient {
  return RegistryClient.fromDockerConfig({ configPath: stack().dockerConfigFile });
}

export async function seed(oci: RegistryClient, host: string, repository: string, tag?: string): Promise<SeededImage> {
  return pushRandomImage(oci, host, repository, { seed: repository, layers: 1, layerSize: 2048, ...(tag ? { tag } : {}) });
}

export async function tempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `promoter-${name}-`));
}

/** A confirmed promotion of `images` from `source` to `destinations`, run by the CLI on the worker's task queue. */
export async function promote(
  taskQueue: string,
  source: string,
  destinations: string[],
  images: { name: string; digest: string; tags?: string[] }[],
): Promise<{ cli: CliResult; report: RunReport; manifest: string }> {
  const manifest = await writePlainManifest(source, destinations, images);
  const cli = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: taskQueue }, 240_000);
  return { cli, report: parseJsonOutput<RunReport>(cli), manifest };
}

/** Whether a repository holds a signature of `digest` in either format the promoter writes. */
export async function signed(oci: RegistryClient, host: string, repository: string, digest: string): Promise<boolean> {
  const tags = await oci.listTags(host, repository);
  return tags.some((t) => t.startsWith(digestTag(digest)));
}
