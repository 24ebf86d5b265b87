/**
 * The loop Sign and Attest share: one unit of work per image digest in place, a few at once,
 * each outcome checkpointed in the heartbeat so a retried activity skips what is settled.
 */
import type { Failure, RepoRef } from '../lib/run/types';
import { mapPool } from '../lib/util/pool';
import { heartbeat, heartbeatDetails, withHeartbeat } from './context';
import type { InPlaceImage } from './in-place';

export interface ImageOutcome {
  counts: Record<string, number>;
  failures: Failure[];
  /** Repositories where the worker's signature of the image is now written or verified. */
  signedAt?: RepoRef[];
}

interface Checkpoint {
  done: [number, ImageOutcome][];
}

export interface ImagesOutcome {
  counts: Record<string, number>;
  failures: Failure[];
  signed: { repo: RepoRef; digest: string }[];
}

export async function forEachImage(images: InPlaceImage[], work: (img: InPlaceImage) => Promise<ImageOutcome>, concurrency = 8): Promise<ImagesOutcome> {
  const done = new Map<number, ImageOutcome>(heartbeatDetails<Checkpoint>()?.done ?? []);
  const pending = images.map((img, i) => ({ img, i })).filter(({ i }) => !done.has(i));
  const checkpoint = (): Checkpoint => ({ done: [...done.entries()] });
  await withHeartbeat(checkpoint, () =>
    mapPool(pending, concurrency, async ({ img, i }) => {
      done.set(i, await work(img));
      heartbeat(checkpoint());
    }),
  );
  const counts: Record<string, number> = {};
  const failures: Failure[] = [];
  const signed: ImagesOutcome['signed'] = [];
  for (const [i, o] of done) {
    for (const [k, v] of Object.entries(o.counts)) counts[k] = (counts[k] ?? 0) + v;
    failures.push(...o.failures);
    for (const repo of o.signedAt ?? []) signed.push({ repo, digest: images[i]!.digest });
  }
  return { counts, failures, signed };
}

/** The child manifests of an index (empty for a single image), read from where it was promoted. */
export async function childDigests(client: { getManifest(ref: { host: string; repository: string; digest: string }): Promise<{ bytes: Uint8Array }> }, target: { host: string; repository: string; digest: string }): Promise<string[]> {
  const m = JSON.parse(Buffer.from((await client.getManifest(target)).bytes).toString('utf8')) as { manifests?: { digest: string }[] };
  return (m.manifests ?? []).map((c) => c.digest);
}
