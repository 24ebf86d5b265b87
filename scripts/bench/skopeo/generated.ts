// The default bench's workload: N images spread over R repositories of one project, built the way
// real images are (a distro base shared by many images, then an image's own layer or two), every
// tenth repository multi-arch. Everything derives from the run prefix, so each run pushes fresh
// content: no tool can profit from blobs an earlier run left behind.
import { prng } from '../../dev/seed-images';
import { baseLayers, buildImage, workloadOf, type BenchImage, type BenchProject, type Workload } from '../common/workload';

export interface GeneratedOptions {
  prefix: string;
  images: number;
  repos: number;
  /** Content bytes of an image's own layer (varies 0.5x..1.5x); base layers are twice this. */
  layerSize: number;
  /** Distro-like bases to pick from. */
  bases: number;
  /** Every `multiArchEvery`-th repository holds multi-arch images (2 platforms). */
  multiArchEvery: number;
  /** host:port of staging and of each destination (the first is the primary). */
  staging: string;
  destinations: string[];
}

const PLATFORMS = ['linux/amd64', 'linux/arm64'];

/** "app-007" for repository 7 of 100. */
function repoName(i: number, repos: number): string {
  return `app-${String(i).padStart(Math.max(3, String(repos - 1).length), '0')}`;
}

/** Image i lives in repository i % repos with tag v1.<i / repos>.0: every repository gets a few versions. */
export function generatedWorkload(o: GeneratedOptions): Workload {
  const bases = new Map<string, Uint8Array[]>();
  const baseOf = (b: number, p: string): Uint8Array[] => {
    let l = bases.get(`${b}/${p}`);
    if (!l) bases.set(`${b}/${p}`, (l = baseLayers(o.prefix, b, p, o.layerSize, 2 + (b % 2))));
    return l;
  };
  const images = new Map<string, BenchImage>();
  const repos = Array.from({ length: o.repos }, (_, r) => ({ name: repoName(r, o.repos), dmap: [] as [string, string[]][] }));
  for (let i = 0; i < o.images; i++) {
    const r = i % o.repos;
    const repo = repos[r]!;
    const tag = `v1.${Math.floor(i / o.repos)}.0`;
    const seed = `${o.prefix}/${repo.name}:${tag}`;
    const next = prng(seed);
    // One or two own layers, 0.5x..1.5x layerSize: images differ in shape as they do in life.
    const own = Array.from({ length: 1 + (next() % 2) }, () => Math.round(o.layerSize * (0.5 + (next() % 1000) / 1000)));
    const img = buildImage(seed, r % o.multiArchEvery === 0 ? PLATFORMS : PLATFORMS.slice(0, 1), (p) => baseOf(r % o.bases, p), own);
    images.set(img.digest, img);
    repo.dmap.push([img.digest, [tag]]);
  }
  const project: BenchProject = {
    name: 'apps',
    source: `${o.staging}/${o.prefix}/staging`,
    destinations: o.destinations.map((d) => `${d}/${o.prefix}/prod`),
    images: repos.filter((r) => r.dmap.length > 0),
  };
  return workloadOf(o.prefix, [project], images);
}
