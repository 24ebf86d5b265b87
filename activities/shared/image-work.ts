/**
 * The loop Sign, Attest and the nightly re-mirroring share: one unit of work per image digest in
 * place, a few at once, checkpointed in the heartbeat so a retried activity skips what is settled.
 * The checkpoint stays small at any scale: settled images as index ranges, counts summed, and only
 * the exceptions (failures, images not signed at every destination) listed.
 */
import type { Failure } from '../../lib/run/outcomes';
import type { RepositoryRef } from '../../lib/oci/reference';
import { mapPool } from '../../lib/util/pool';
import type { Heartbeat } from './heartbeat';
import type { InPlaceImage } from './images';

export interface ImageOutcome {
  counts: Record<string, number>;
  failures: Failure[];
  /** Indices into the image's destinations where its signature is now written or verified (default: none). */
  signedAt?: number[];
}

interface Checkpoint {
  /** Settled image indices, as [from, to) ranges. */
  done: [number, number][];
  counts: Record<string, number>;
  failures: Failure[];
  /** Image index -> destination indices signed, where that is not every destination. */
  partial: [number, number[]][];
  /** Images signed at every destination. */
  full: [number, number][];
}

export interface ImagesOutcome {
  counts: Record<string, number>;
  failures: Failure[];
  signed: { repo: RepositoryRef; digest: string }[];
}

/** Sorted indices as [from, to) ranges. */
function toRanges(indices: Iterable<number>): [number, number][] {
  const out: [number, number][] = [];
  for (const i of [...indices].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

function* fromRanges(ranges: [number, number][]): Generator<number> {
  for (const [from, to] of ranges) for (let i = from; i < to; i++) yield i;
}

export async function forEachImage(
  hb: Heartbeat,
  images: InPlaceImage[],
  work: (img: InPlaceImage) => Promise<ImageOutcome>,
  // Images in flight at once; each writes all its destinations together, the per-host budget caps requests.
  concurrency = 16,
): Promise<ImagesOutcome> {
  const resumed = hb.resumed<Checkpoint>();
  const done = new Set<number>(fromRanges(resumed?.done ?? []));
  const counts: Record<string, number> = { ...resumed?.counts };
  const failures: Failure[] = [...(resumed?.failures ?? [])];
  const partial = new Map<number, number[]>(resumed?.partial ?? []);
  const full = new Set<number>(fromRanges(resumed?.full ?? []));

  const checkpoint = (): Checkpoint => ({ done: toRanges(done), counts, failures, partial: [...partial], full: toRanges(full) });
  const pending = images.map((img, i) => ({ img, i })).filter(({ i }) => !done.has(i));
  await hb.during(checkpoint, () =>
    mapPool(pending, concurrency, async ({ img, i }) => {
      const o = await work(img);
      for (const [k, v] of Object.entries(o.counts)) counts[k] = (counts[k] ?? 0) + v;
      failures.push(...o.failures);
      const at = o.signedAt ?? [];
      if (at.length === img.destinations.length) full.add(i);
      else if (at.length > 0) partial.set(i, at);
      done.add(i);
      hb.beat(checkpoint());
    }),
  );
  const signed: ImagesOutcome['signed'] = [];
  const add = (i: number, at: number[]) => {
    const img = images[i]!;
    for (const d of at) signed.push({ repo: img.destinations[d]!.ref, digest: img.digest });
  };
  for (const i of full)
    add(
      i,
      images[i]!.destinations.map((_, d) => d),
    );
  for (const [i, at] of partial) add(i, at);
  return { counts, failures, signed };
}
