// Counting a bundle: what a user checks against their own numbers (STATS.md).
import type { BundleImage, ManifestBundle, Project } from './bundle';
import type { BundleCounts, ProjectCounts } from './types';

/** Distinct (destination repository, digest, tag) across `projects`; a tagless digest counts once. */
function countUniqueEdges(projects: readonly Project[]): number {
  // Keyed by the full destination repository, so two projects (or two registry
  // prefixes) that land in one repository are counted once per edge. The first
  // claim is kept by reference; a set is built only when a repository is shared.
  const repos = new Map<string, BundleImage | Set<string>>();
  let n = 0;
  for (const p of projects) {
    // Per image once, not per destination: this loop runs images x destinations times.
    const perImage = p.images.map(unitCount);
    for (const dest of new Set(p.destinations)) {
      p.images.forEach((img, i) => {
        const key = `${dest}/${img.name}`;
        const prev = repos.get(key);
        if (prev === undefined) {
          repos.set(key, img);
          n += perImage[i]!;
          return;
        }
        if (prev === img) return;
        const set = prev instanceof Set ? prev : new Set(units(prev));
        for (const u of units(img)) {
          if (!set.has(u)) {
            set.add(u);
            n++;
          }
        }
        repos.set(key, set);
      });
    }
  }
  return n;
}

function unitCount(img: BundleImage): number {
  let n = 0;
  for (const tags of Object.values(img.dmap)) n += new Set(tags).size || 1;
  return n;
}

function* units(img: BundleImage): Iterable<string> {
  for (const [digest, tags] of Object.entries(img.dmap)) {
    if (tags.length === 0) yield `${digest} `;
    else for (const t of tags) yield `${digest} ${t}`;
  }
}

function tally(p: Project): Omit<ProjectCounts, 'uniqueEdges'> {
  const digests = new Set<string>();
  let tagPairs = 0;
  for (const img of p.images) {
    for (const [d, tags] of Object.entries(img.dmap)) {
      digests.add(d);
      tagPairs += new Set(tags).size;
    }
  }
  return { images: p.images.length, digests: digests.size, tagPairs, destinations: new Set(p.destinations).size };
}

export function countProject(p: Project): ProjectCounts {
  return { ...tally(p), uniqueEdges: countUniqueEdges([p]) };
}

export function countBundle(bundle: ManifestBundle): BundleCounts {
  let images = 0;
  let digests = 0;
  let tagPairs = 0;
  for (const p of bundle.projects) {
    const c = tally(p);
    images += c.images;
    digests += c.digests;
    tagPairs += c.tagPairs;
  }
  return { projects: bundle.projects.length, images, digests, tagPairs, uniqueEdges: countUniqueEdges(bundle.projects) };
}
