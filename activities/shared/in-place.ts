/**
 * Which image digests are now at their destinations: those the plan found already there and those
 * Promote put there. Sign and Attest work from this, so a rerun also signs digests an earlier run
 * promoted but never signed.
 */
import type { PromoteBatchDocument } from '../../lib/run/documents';
import type { AfterPromoteArgs } from '../../lib/run/input';
import type { RepositoryRef } from '../../lib/oci/reference';
import { planEdges } from '../../lib/run/plan';
import { inShard } from '../../lib/run/shard';
import type { ActivityDeps } from './deps';
import type { InPlaceDestination, InPlaceImage } from './images';

/** The images in place, of this activity's part (args.shard) only. */
export async function imagesInPlace(deps: ActivityDeps, args: AfterPromoteArgs): Promise<InPlaceImage[]> {
  // Every part on this worker reads the Promote results once: the list is kept, then cut per part.
  const id = `${args.plan.key}@${args.plan.sha256}|${args.promoteResultKeys.join('|')}`;
  const all = await deps.documents.imagesInPlace(id, () => readImagesInPlace(deps, args));
  // A part holds whole repositories: two projects may promote into one (kpromo manifests do).
  return all.filter((img) => inShard(img.destinations[0]!.ref.repository, args.shard));
}

async function readImagesInPlace(deps: ActivityDeps, args: AfterPromoteArgs): Promise<InPlaceImage[]> {
  const plan = await deps.documents.plan(args.plan);
  const images = new Map<string, InPlaceImage>();
  const add = (project: string, image: string, digest: string, source: RepositoryRef, dest: InPlaceDestination): void => {
    const key = `${project}|${image}|${digest}`;
    let img = images.get(key);
    if (!img) images.set(key, (img = { project, image, digest, source, destinations: [] }));
    const existing = img.destinations.find((d) => d.ref.host === dest.ref.host && d.ref.repository === dest.ref.repository);
    if (existing) {
      existing.tags.push(...dest.tags.filter((t) => !existing.tags.includes(t)));
      existing.promotedNow ||= dest.promotedNow;
      existing.fallbackTag ??= dest.fallbackTag;
    } else img.destinations.push(dest);
  };
  for (const e of planEdges(plan)) {
    if (e.verdict === 'present')
      add(e.project, e.image, e.digest, e.source, { ref: e.destination, index: e.destinationIndex, tags: e.tag ? [e.tag] : [], promotedNow: false });
  }
  for (const key of args.promoteResultKeys) {
    const doc = await deps.store.getJson<PromoteBatchDocument>(key);
    for (const p of doc.placed) {
      add(p.project, p.image, p.digest, p.source, {
        ref: p.destination,
        index: p.destinationIndex,
        tags: p.tags,
        promotedNow: p.promotedNow,
        ...(p.fallbackTag ? { fallbackTag: p.fallbackTag } : {}),
      });
    }
  }
  const out = [...images.values()];
  for (const img of out) img.destinations.sort((a, b) => a.index - b.index);
  return out.sort((a, b) => (`${a.project}/${a.image}@${a.digest}` < `${b.project}/${b.image}@${b.digest}` ? -1 : 1));
}
