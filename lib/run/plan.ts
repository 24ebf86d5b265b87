/**
 * Plan: turn the manifests into edges and give each a verdict from what the registries hold.
 * Pure functions; the Plan activity does the registry reads and hands the answers in.
 */
import { repositoryKey, type RepositoryRef } from '../oci/reference';
import type { EdgeCounts, EdgeVerdict, Plan, PlanEdge, PlannedDigest, PlannedProject, VerdictLetter } from './plan-format';

/** The slice of the manifest bundle that planning needs (see lib/manifests for the full type). */
export interface PlanInputProject {
  name: string;
  source: string;
  destinations: string[];
  images: { name: string; dmap: Record<string, string[]> }[];
}

/** "127.0.0.1:5001/staging" + "foo/bar" -> { host: "127.0.0.1:5001", repository: "staging/foo/bar" } */
export function repoFor(registry: string, image: string): RepositoryRef {
  const slash = registry.indexOf('/');
  const host = slash < 0 ? registry : registry.slice(0, slash);
  const prefix = slash < 0 ? '' : registry.slice(slash + 1).replace(/\/+$/, '');
  return { host, repository: prefix ? `${prefix}/${image}` : image };
}

/** What the Plan activity must ask the registries. */
export interface InventoryQueries {
  /** source repo key -> its ref and the digests the manifests name there */
  sources: Map<string, { ref: RepositoryRef; digests: Set<string> }>;
  /** destination repo key -> its ref, the tags asked for (with the digest each must carry) and the tagless digests */
  destinations: Map<string, { ref: RepositoryRef; tags: Map<string, string>; taglessDigests: Set<string> }>;
}

export function inventoryQueries(projects: PlanInputProject[]): InventoryQueries {
  const sources: InventoryQueries['sources'] = new Map();
  const destinations: InventoryQueries['destinations'] = new Map();
  for (const p of projects) {
    for (const img of p.images) {
      const src = repoFor(p.source, img.name);
      const srcEntry = getOrAdd(sources, repositoryKey(src), () => ({ ref: src, digests: new Set<string>() }));
      for (const [digest, tags] of Object.entries(img.dmap)) {
        srcEntry.digests.add(digest);
        for (const registry of p.destinations) {
          const dst = repoFor(registry, img.name);
          const d = getOrAdd(destinations, repositoryKey(dst), () => ({ ref: dst, tags: new Map<string, string>(), taglessDigests: new Set<string>() }));
          if (tags.length === 0) d.taglessDigests.add(digest);
          for (const t of tags) d.tags.set(t, digest);
        }
      }
    }
  }
  return { sources, destinations };
}

/** The registries' answers. */
export interface Inventory {
  /** `${repositoryKey}@${digest}` of source manifests that exist. */
  sourceDigests: { has(key: string): boolean };
  /** repositoryKey -> tag -> digest, for the destination tags asked about that exist. */
  destinationTags: Map<string, Map<string, string>>;
  /** `${repositoryKey}@${digest}` of destination manifests known to exist. */
  destinationDigests: Set<string>;
  /** repositoryKey -> the `sha256-…` tags listed there (cosign signatures, attestations, referrers fallback). */
  signatureTags: Map<string, string[]>;
  /** repositoryKey -> digest -> signature the promoter wrote or verified there (lib/run/tag-record.ts). */
  signedByPromoter: Map<string, Record<string, string>>;
  /** Destination repoKeys that listed no tags at all: new repositories (copies there need no existence checks). */
  newRepositories: Set<string>;
}

/** Source digests that need a look: those with an edge not already in place. */
export function sourcesToCheck(projects: PlanInputProject[], inv: Omit<Inventory, 'sourceDigests'>): Map<string, { ref: RepositoryRef; digest: string }> {
  const assumeAll = { ...inv, sourceDigests: { has: () => true } };
  const out = new Map<string, { ref: RepositoryRef; digest: string }>();
  for (const p of projects) {
    for (const img of p.images) {
      const source = repoFor(p.source, img.name);
      for (const [digest, tags] of Object.entries(img.dmap)) {
        const key = `${repositoryKey(source)}@${digest}`;
        if (out.has(key)) continue;
        const pending = p.destinations.some((d) =>
          (tags.length ? tags : [null]).some((t) => verdictFor(assumeAll, source, repoFor(d, img.name), digest, t).verdict !== 'present'),
        );
        if (pending) out.set(key, { ref: source, digest });
      }
    }
  }
  return out;
}

function verdictFor(
  inv: Inventory,
  src: RepositoryRef,
  dst: RepositoryRef,
  digest: string,
  tag: string | null,
): { verdict: EdgeVerdict; currentDigest?: string } {
  if (!inv.sourceDigests.has(`${repositoryKey(src)}@${digest}`)) {
    // Already in place is fine even when staging lost it; otherwise the image is LOST.
    if (tag === null && inv.destinationDigests.has(`${repositoryKey(dst)}@${digest}`)) return { verdict: 'present' };
    if (tag !== null && inv.destinationTags.get(repositoryKey(dst))?.get(tag) === digest) return { verdict: 'present' };
    return { verdict: 'lost' };
  }
  if (tag === null) {
    return { verdict: inv.destinationDigests.has(`${repositoryKey(dst)}@${digest}`) ? 'present' : 'promote' };
  }
  const current = inv.destinationTags.get(repositoryKey(dst))?.get(tag);
  if (current === undefined) return { verdict: 'promote' };
  if (current === digest) return { verdict: 'present' };
  return { verdict: 'tag-move', currentDigest: current };
}

const LETTER: Record<EdgeVerdict, VerdictLetter> = { promote: 'P', present: '=', 'tag-move': 'M', lost: 'L' };
const VERDICT: Record<string, EdgeVerdict> = { P: 'promote', '=': 'present', M: 'tag-move', L: 'lost' };

export function computePlan(
  projects: PlanInputProject[],
  inv: Inventory,
  meta: { workflowId: string; runId: string; bundleSha256: string; createdAt: string },
): Plan {
  const seen = new Set<string>();
  const registries = new Set<string>();
  const counts: EdgeCounts = { total: 0, promote: 0, present: 0, tagMoves: 0, lost: 0, overlaps: 0 };
  const planned: PlannedProject[] = [];
  for (const p of projects) {
    registries.add(repoFor(p.source, '').host);
    const images: PlannedProject['images'] = [];
    for (const img of p.images) {
      const source = repoFor(p.source, img.name);
      const destinations = p.destinations.map((registry) => repoFor(registry, img.name));
      for (const d of destinations) registries.add(d.host);
      const digests: PlannedDigest[] = [];
      for (const [digest, tags] of Object.entries(img.dmap)) {
        let verdicts = '';
        const moves: Record<string, string> = {};
        destinations.forEach((destination, index) => {
          for (const tag of tags.length === 0 ? [null] : tags) {
            const key = `${repositoryKey(destination)}|${digest}|${tag ?? ''}`;
            if (seen.has(key)) {
              counts.overlaps++;
              verdicts += '-';
              continue;
            }
            seen.add(key);
            const v = verdictFor(inv, source, destination, digest, tag);
            verdicts += LETTER[v.verdict];
            count(counts, v.verdict);
            if (v.currentDigest) moves[`${index}:${tag}`] = v.currentDigest;
          }
        });
        digests.push({ digest, tags, verdicts, ...(Object.keys(moves).length > 0 ? { moves } : {}) });
      }
      images.push({ name: img.name, digests });
    }
    planned.push({ name: p.name, source: p.source, destinations: p.destinations, images });
  }
  return {
    version: 2,
    ...meta,
    projects: planned,
    counts,
    registries: [...registries].sort(),
    signatureTags: Object.fromEntries(inv.signatureTags),
    signedByPromoter: Object.fromEntries(inv.signedByPromoter),
    newRepositories: [...inv.newRepositories].sort(),
  };
}

function count(c: EdgeCounts, verdict: EdgeVerdict): void {
  c.total++;
  if (verdict === 'promote') c.promote++;
  else if (verdict === 'present') c.present++;
  else if (verdict === 'tag-move') c.tagMoves++;
  else c.lost++;
}

/**
 * Every edge of a plan (overlaps left out), one at a time: a million edges never sit in memory as
 * objects. Repository references are shared between the edges of one image.
 */
export function* planEdges(plan: Plan): Generator<PlanEdge> {
  // Plans written before the compact form (version 1) listed their edges: runs in flight across an upgrade.
  const legacy = plan as unknown as { version: number; edges?: PlanEdge[] };
  if (legacy.version === 1) {
    yield* legacy.edges ?? [];
    return;
  }
  for (const p of plan.projects) {
    for (const img of p.images) {
      const source = repoFor(p.source, img.name);
      const destinations = p.destinations.map((registry) => repoFor(registry, img.name));
      for (const d of img.digests) {
        let i = 0;
        for (let destinationIndex = 0; destinationIndex < destinations.length; destinationIndex++) {
          for (const tag of d.tags.length === 0 ? [null] : d.tags) {
            const letter = d.verdicts[i++]!;
            if (letter === '-') continue;
            const verdict = VERDICT[letter]!;
            const edge: PlanEdge = {
              project: p.name,
              image: img.name,
              digest: d.digest,
              tag,
              source,
              destination: destinations[destinationIndex]!,
              destinationIndex,
              verdict,
            };
            if (verdict === 'tag-move') edge.currentDigest = d.moves?.[`${destinationIndex}:${tag}`];
            yield edge;
          }
        }
      }
    }
  }
}

/** One copy: an image digest into one destination repository, with the tags to set there. */
export interface CopyTask {
  project: string;
  image: string;
  /** 0: the project's primary destination; higher: its mirrors. */
  destinationIndex: number;
  source: RepositoryRef;
  destination: RepositoryRef;
  digest: string;
  tags: string[];
  /** Edges this task settles (tags, or 1 for a tagless digest). */
  edges: number;
}

/**
 * Group the edges to promote into copy tasks, sorted by source repository and digest: the copies
 * of one image to every destination sit next to each other, so a batch keeps all registries busy
 * at once (not one registry while the others idle) and versions of one repository share layers.
 */
export function copyTasks(plan: Plan, blockedDigests: ReadonlySet<string> = new Set()): CopyTask[] {
  const byKey = new Map<string, CopyTask>();
  for (const e of planEdges(plan)) {
    if (e.verdict !== 'promote' || blockedDigests.has(e.digest)) continue;
    const key = `${repositoryKey(e.destination)}@${e.digest}`;
    const t = getOrAdd(byKey, key, () => ({
      project: e.project,
      image: e.image,
      destinationIndex: e.destinationIndex,
      source: e.source,
      destination: e.destination,
      digest: e.digest,
      tags: [],
      edges: 0,
    }));
    if (e.tag !== null) t.tags.push(e.tag);
    t.edges++;
  }
  return [...byKey.values()].sort((a, b) => {
    const ka = `${a.source.host}/${a.source.repository}@${a.digest} ${a.destination.host}/${a.destination.repository}`;
    const kb = `${b.source.host}/${b.source.repository}@${b.digest} ${b.destination.host}/${b.destination.repository}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function getOrAdd<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}
