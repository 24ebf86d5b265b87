// The shape of the real Kubernetes promotion, read from the thin-manifest corpus in
// test/fixtures/k8s-thin-manifests: per project its image names, the digests of each image with
// their tags, and its destination registries (20, 22, 23 or 40). Only the shape is kept: the
// bench generates its own images and maps every real registry onto local ones.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { splitRegistry } from '../common/workload';

const CORPUS_DIR = fileURLToPath(new URL('../../../test/fixtures/k8s-thin-manifests', import.meta.url));
/** Refused by the promoter's validation (a 63-hex digest, see the corpus STATS.md): left out. */
const INVALID_PROJECTS = ['k8s-staging-ingress-nginx'];

interface CorpusImage {
  name: string;
  /** [corpus digest, tags] in file order */
  dmap: [string, string[]][];
}

export interface CorpusProject {
  name: string;
  /** Destination registries as written (the first is the primary); duplicates kept as written. */
  destinations: string[];
  images: CorpusImage[];
}

function readProject(dir: string, name: string): CorpusProject {
  const manifest = parse(readFileSync(join(dir, 'manifests', name, 'promoter-manifest.yaml'), 'utf8')) as { registries: { name: string; src?: boolean }[] };
  const images = (parse(readFileSync(join(dir, 'images', name, 'images.yaml'), 'utf8')) ?? []) as { name: string; dmap?: Record<string, string[]> }[];
  return {
    name,
    destinations: manifest.registries.filter((r) => !r.src).map((r) => r.name),
    images: images.map((img) => ({ name: img.name, dmap: Object.entries(img.dmap ?? {}).map(([d, tags]) => [d, (tags ?? []).map(String)]) })),
  };
}

/** The valid projects of the corpus, in name order. */
export function readCorpus(dir = CORPUS_DIR): CorpusProject[] {
  return readdirSync(join(dir, 'manifests'))
    .filter((p) => !INVALID_PROJECTS.includes(p))
    .sort()
    .map((p) => readProject(dir, p));
}

export interface Selection {
  /** Only these projects (by name). */
  projects?: string[];
  /** Only the first N projects (name order). */
  firstProjects?: number;
  /** Keep this fraction of every image's digests (at least one per project); 1 keeps all. */
  scale?: number;
}

/** A part of the corpus with the same shape: whole projects, or a fraction of every project's digests. */
export function selectCorpus(all: CorpusProject[], s: Selection): CorpusProject[] {
  let out = all;
  if (s.projects?.length) {
    const unknown = s.projects.filter((p) => !all.some((c) => c.name === p));
    if (unknown.length > 0) throw new Error(`not a valid corpus project: ${unknown.join(', ')}`);
    out = all.filter((p) => s.projects!.includes(p.name));
  }
  if (s.firstProjects !== undefined) out = out.slice(0, s.firstProjects);
  const scale = s.scale ?? 1;
  if (scale < 1) {
    out = out.map((p) => {
      const images = p.images.map((img) => ({ ...img, dmap: img.dmap.slice(0, Math.round(img.dmap.length * scale)) }));
      // Every project that lists a digest stays, with at least its first one: the registry counts are the shape too.
      // (A project may list no image at all, or images without digests.)
      const first = p.images.findIndex((img) => img.dmap.length > 0);
      if (first >= 0 && images.every((img) => img.dmap.length === 0)) images[first] = { ...p.images[first]!, dmap: p.images[first]!.dmap.slice(0, 1) };
      return { ...p, images: images.filter((img) => img.dmap.length > 0) };
    });
  }
  return out.filter((p) => p.images.length > 0);
}

/** Every real destination host of the corpus, numbered in order of first appearance (region-00, ...). */
export function regionsOf(projects: CorpusProject[]): Map<string, number> {
  const regions = new Map<string, number>();
  for (const p of projects)
    for (const d of p.destinations) {
      const { host } = splitRegistry(d);
      if (!regions.has(host)) regions.set(host, regions.size);
    }
  return regions;
}
