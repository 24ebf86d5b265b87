/**
 * The loop Sign and Attest share: one unit of work per image digest in place, a few at once,
 * each outcome checkpointed in the heartbeat so a retried activity skips what is settled.
 */
import type { Failure, RepositoryRef } from '../lib/run/types';
import { mapPool } from '../lib/util/pool';
import { heartbeat, heartbeatDetails, withHeartbeat } from './context';
import type { InPlaceImage } from './in-place';

export interface ImageOutcome {
  counts: Record<string, number>;
  failures: Failure[];
  /** Repositories where the worker's signature of the image is now written or verified. */
  signedAt?: RepositoryRef[];
}

interface Checkpoint {
  done: [number, ImageOutcome][];
}

export interface ImagesOutcome {
  counts: Record<string, number>;
  failures: Failure[];
  signed: { repo: RepositoryRef; digest: string }[];
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
