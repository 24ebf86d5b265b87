// The k8s-shaped workload: one small generated image per corpus digest (every tenth a multi-arch
// index over three platforms), seeded into the bench staging registry under every image name that
// lists that digest, and thin manifests that promote them to as many local destination registries
// as the real project has, spread over the bench's destination hosts.
import { sha256Digest } from '../../../lib/oci';
import { baseLayers, buildImage, splitRegistry, workloadOf, type BenchImage, type BenchProject, type Workload } from '../common/workload';
import { regionsOf, type CorpusProject } from './corpus';

const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/ppc64le'];
const BASES = 5;

/** One generated image for one corpus digest: a shared base (chosen by the digest) and an own layer per platform. */
export function corpusImage(
  prefix: string,
  corpusDigest: string,
  multiArch: boolean,
  layerSize: number,
  baseOf: (b: number, p: string) => Uint8Array[],
): BenchImage {
  const base = parseInt(corpusDigest.slice(7, 15), 16) % BASES;
  const own = Math.round(layerSize * (0.5 + (parseInt(corpusDigest.slice(15, 19), 16) % 1000) / 1000));
  return buildImage(`${prefix}/${corpusDigest}`, multiArch ? PLATFORMS : PLATFORMS.slice(0, 1), (p) => baseOf(base, p), [own]);
}

/**
 * Maps the corpus onto local registries: real destination host number NN (in order of first
 * appearance) becomes `region-NN` on bench host NN mod hosts, keeping the real path after it.
 */
export function shapeWorkload(corpus: CorpusProject[], o: { prefix: string; staging: string; hosts: string[]; layerSize: number }): Workload {
  const regions = regionsOf(corpus);
  const bases = new Map<string, Uint8Array[]>();
  const baseOf = (b: number, p: string): Uint8Array[] => {
    let l = bases.get(`${b}/${p}`);
    if (!l) bases.set(`${b}/${p}`, (l = baseLayers(o.prefix, b, p, o.layerSize)));
    return l;
  };
  const byCorpusDigest = new Map<string, BenchImage>();
  const images = new Map<string, BenchImage>();
  const local = (real: string): string => {
    const { host, path } = splitRegistry(real);
    const nn = regions.get(host)!;
    return `${o.hosts[nn % o.hosts.length]}/${o.prefix}/region-${String(nn).padStart(2, '0')}${path ? `/${path}` : ''}`;
  };
  const projects: BenchProject[] = corpus.map((p) => ({
    name: p.name,
    source: `${o.staging}/${o.prefix}/staging/${p.name}`,
    destinations: p.destinations.map(local),
    images: p.images.map((img) => ({
      name: img.name,
      dmap: img.dmap.map(([cd, tags]) => {
        let gen = byCorpusDigest.get(cd);
        if (!gen) {
          // Every tenth distinct digest is a multi-arch index, as in the default bench.
          gen = corpusImage(o.prefix, cd, byCorpusDigest.size % 10 === 9, o.layerSize, baseOf);
          byCorpusDigest.set(cd, gen);
          images.set(gen.digest, gen);
        }
        return [gen.digest, tags] as [string, string[]];
      }),
    })),
  }));
  return workloadOf(o.prefix, projects, images);
}

/**
 * The daily case: the same manifests plus one new digest (a new generated image, new tag) on the
 * first image of `project`. The workload's own projects stay as they were.
 */
export function withDailyDigest(
  w: Workload,
  project: string,
  layerSize: number,
): { projects: BenchProject[]; added: { project: string; image: string; digest: string; tag: string } } {
  const gen = corpusImage(w.prefix, `sha256:${'d'.repeat(64)}`, false, layerSize, (b, pl) => baseLayers(w.prefix, b, pl, layerSize));
  w.images.set(gen.digest, gen);
  for (const b of gen.blobs) w.blobSizes.set(sha256Digest(b), b.length);
  const tag = 'v99.0.0-daily';
  let image = '';
  const projects = w.projects.map((p) => {
    if (p.name !== project) return p;
    image = p.images[0]!.name;
    return { ...p, images: p.images.map((img, i) => (i === 0 ? { ...img, dmap: [...img.dmap, [gen.digest, [tag]] as [string, string[]]] } : img)) };
  });
  return { projects, added: { project, image, digest: gen.digest, tag } };
}
