// The k8s-shaped workload: one small generated image per corpus digest (10% of them multi-arch
// over three platforms), seeded into the bench staging registry under every image name that
// lists that digest, and thin manifests that promote them to as many local destination
// registries as the real project has, spread over the bench's destination hosts.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OCI_INDEX, OCI_MANIFEST, sha256Digest, type RegistryClient } from '../../../lib/oci';
import { imageFromLayers, makeLayer, type BuiltImage } from '../../seed-images';
import { mapPool } from '../../../lib/util/pool';
import { regionsOf, splitRegistry, type CorpusProject } from './corpus';

const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/ppc64le'] as const;
const BASES = 5;

export interface ShapeImage {
  /** The generated digest standing for one corpus digest. */
  digest: string;
  multiArch: boolean;
  /** Child manifest digests of an index. */
  children: string[];
  manifests: { digest: string; bytes: Uint8Array; mediaType: string }[];
  blobs: Uint8Array[];
}

export interface ShapeProject {
  name: string;
  /** `host/prefix/staging/<project>` */
  source: string;
  /** Promoter destinations, first is the primary: `host/prefix/region-NN/<real path>`. */
  destinations: string[];
  /** The same registries for regsync's copies: `host/prefix/regsync/region-NN/<real path>`. */
  regsyncDestinations: string[];
  images: { name: string; dmap: [string, string[]][] }[];
}

export interface ShapeWorkload {
  prefix: string;
  projects: ShapeProject[];
  /** generated digest -> image */
  images: Map<string, ShapeImage>;
  blobSizes: Map<string, number>;
  counts: {
    projects: number;
    imageNames: number;
    digests: number;
    multiArch: number;
    /** (image name, digest) pairs per project: what Sign and Attest work on */
    imageDigests: number;
    edges: number;
    destinationRegistries: number;
    destinationRepositories: number;
    sourceRepositories: number;
    /** Sum over (project, image, digest) of manifests (1, or index + children) x destinations. */
    signedManifestDestinations: number;
    /** The same, mirrors only: what copying signatures from the primary has to cover. */
    signedManifestMirrorDestinations: number;
    distinctBlobs: number;
    distinctBlobBytes: number;
  };
}

function baseLayers(prefix: string, b: number, platform: string, layerSize: number): Uint8Array[] {
  return [0, 1].map((k) => makeLayer(`${prefix}/base${b}/${platform}/${k}`, 2 * layerSize));
}

/** One generated image for one corpus digest: a shared base and an own layer per platform. */
export function buildShapeImage(prefix: string, corpusDigest: string, multiArch: boolean, layerSize: number, baseOf: (b: number, p: string) => Uint8Array[]): ShapeImage {
  const seed = `${prefix}/${corpusDigest}`;
  const base = parseInt(corpusDigest.slice(7, 15), 16) % BASES;
  const platforms = multiArch ? [...PLATFORMS] : ['linux/amd64'];
  const built: { platform: string; image: BuiltImage }[] = platforms.map((p) => ({
    platform: p,
    image: imageFromLayers(p, [...baseOf(base, p), makeLayer(`${seed}/${p}`, Math.round(layerSize * (0.5 + (parseInt(corpusDigest.slice(15, 19), 16) % 1000) / 1000)))], { 'dev.promoter.bench': seed }),
  }));
  const manifests = built.map((b) => ({ digest: sha256Digest(b.image.manifest), bytes: b.image.manifest, mediaType: OCI_MANIFEST }));
  const blobs = built.flatMap((b) => b.image.blobs);
  if (!multiArch) return { digest: manifests[0]!.digest, multiArch, children: [], manifests, blobs };
  const index = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: built.map((b, i) => {
        const [os, architecture] = b.platform.split('/');
        return { mediaType: OCI_MANIFEST, digest: manifests[i]!.digest, size: manifests[i]!.bytes.length, platform: { architecture, os } };
      }),
    }),
  );
  const digest = sha256Digest(index);
  return { digest, multiArch, children: manifests.map((m) => m.digest), manifests: [...manifests, { digest, bytes: index, mediaType: OCI_INDEX }], blobs };
}

/**
 * Maps the corpus onto local registries: real destination host number NN (in order of first
 * appearance) becomes `region-NN` on bench host NN mod hosts, keeping the real path after it.
 */
export function shapeWorkload(corpus: CorpusProject[], o: { prefix: string; staging: string; hosts: string[]; layerSize: number }): ShapeWorkload {
  const regions = regionsOf(corpus);
  const bases = new Map<string, Uint8Array[]>();
  const baseOf = (b: number, p: string): Uint8Array[] => {
    let l = bases.get(`${b}/${p}`);
    if (!l) bases.set(`${b}/${p}`, (l = baseLayers(o.prefix, b, p, o.layerSize)));
    return l;
  };
  const byCorpusDigest = new Map<string, ShapeImage>();
  const images = new Map<string, ShapeImage>();
  const local = (real: string, tool: 'region' | 'regsync'): string => {
    const { host, path } = splitRegistry(real);
    const nn = regions.get(host)!;
    const region = `region-${String(nn).padStart(2, '0')}`;
    return `${o.hosts[nn % o.hosts.length]}/${o.prefix}/${tool === 'region' ? region : `regsync/${region}`}${path ? `/${path}` : ''}`;
  };
  const projects: ShapeProject[] = corpus.map((p) => ({
    name: p.name,
    source: `${o.staging}/${o.prefix}/staging/${p.name}`,
    destinations: p.destinations.map((d) => local(d, 'region')),
    regsyncDestinations: p.destinations.map((d) => local(d, 'regsync')),
    images: p.images.map((img) => ({
      name: img.name,
      dmap: img.dmap.map(([cd, tags]) => {
        let gen = byCorpusDigest.get(cd);
        if (!gen) {
          // Every tenth distinct digest is a multi-arch index, as in the default bench.
          gen = buildShapeImage(o.prefix, cd, byCorpusDigest.size % 10 === 9, o.layerSize, baseOf);
          byCorpusDigest.set(cd, gen);
          images.set(gen.digest, gen);
        }
        return [gen.digest, tags] as [string, string[]];
      }),
    })),
  }));
  return { prefix: o.prefix, projects, images, ...countsOf(projects, images) };
}

function countsOf(projects: ShapeProject[], images: Map<string, ShapeImage>): Pick<ShapeWorkload, 'blobSizes' | 'counts'> {
  const blobSizes = new Map<string, number>();
  for (const img of images.values()) for (const b of img.blobs) blobSizes.set(sha256Digest(b), b.length);
  let edges = 0, imageDigests = 0, signed = 0, signedMirrors = 0;
  const destRegistries = new Set<string>(), destRepos = new Set<string>(), srcRepos = new Set<string>(), edgeKeys = new Set<string>();
  for (const p of projects) {
    const dests = [...new Set(p.destinations)];
    dests.forEach((d) => destRegistries.add(d));
    for (const img of p.images) {
      srcRepos.add(`${p.source}/${img.name}`);
      for (const d of dests) destRepos.add(`${d}/${img.name}`);
      for (const [digest, tags] of img.dmap) {
        imageDigests++;
        signed += images.get(digest)!.manifests.length * dests.length;
        signedMirrors += images.get(digest)!.manifests.length * (dests.length - 1);
        for (const d of dests) for (const t of tags.length ? tags : ['']) edgeKeys.add(`${d}/${img.name}|${digest}|${t}`);
      }
    }
  }
  edges = edgeKeys.size;
  return {
    blobSizes,
    counts: {
      projects: projects.length,
      imageNames: projects.reduce((n, p) => n + p.images.length, 0),
      digests: images.size,
      multiArch: [...images.values()].filter((i) => i.multiArch).length,
      imageDigests,
      edges,
      destinationRegistries: destRegistries.size,
      destinationRepositories: destRepos.size,
      sourceRepositories: srcRepos.size,
      signedManifestDestinations: signed,
      signedManifestMirrorDestinations: signedMirrors,
      distinctBlobs: blobSizes.size,
      distinctBlobBytes: [...blobSizes.values()].reduce((a, b) => a + b, 0),
    },
  };
}

/**
 * The daily case: the same manifests plus one new digest (a new generated image, new tag) on the
 * first image of `project`. The workload's own projects stay as they were.
 */
export function withDailyDigest(w: ShapeWorkload, project: string, layerSize: number): { projects: ShapeProject[]; added: { project: string; image: string; digest: string; tag: string } } {
  const gen = buildShapeImage(w.prefix, `sha256:${'d'.repeat(64)}`, false, layerSize, (b, pl) => baseLayers(w.prefix, b, pl, layerSize));
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

/** Pushes each image into every staging repository that lists it (not timed by the bench). */
export async function seedShape(
  client: RegistryClient,
  projects: ShapeProject[],
  images: ReadonlyMap<string, ShapeImage>,
  only?: { project: string; image: string; digest: string },
  onProgress?: (done: number, of: number) => void,
): Promise<void> {
  const jobs: { host: string; repository: string; image: ShapeImage }[] = [];
  for (const p of projects) {
    const { host, path } = splitRegistry(p.source);
    for (const img of p.images) {
      for (const [digest] of img.dmap) {
        if (only && (only.project !== p.name || only.image !== img.name || only.digest !== digest)) continue;
        jobs.push({ host, repository: `${path}/${img.name}`, image: images.get(digest)! });
      }
    }
  }
  let done = 0;
  await mapPool(jobs, 8, async ({ host, repository, image }) => {
    for (const b of image.blobs) await client.pushBlob(host, repository, b);
    for (const m of image.manifests) await client.putManifest({ host, repository, digest: m.digest }, m.bytes, m.mediaType);
    if (++done % 200 === 0 || done === jobs.length) onProgress?.(done, jobs.length);
  });
}

const q = (s: string): string => JSON.stringify(s);

/** Writes the thin layout: manifests/<p>/promoter-manifest.yaml and images/<p>/images.yaml. */
export async function writeThinManifests(dir: string, projects: ShapeProject[]): Promise<void> {
  for (const p of projects) {
    await mkdir(join(dir, 'manifests', p.name), { recursive: true });
    await mkdir(join(dir, 'images', p.name), { recursive: true });
    const registries = [`- name: ${p.source}`, '  src: true', ...p.destinations.map((d) => `- name: ${d}`)];
    await writeFile(join(dir, 'manifests', p.name, 'promoter-manifest.yaml'), `registries:\n${registries.join('\n')}\n`);
    const lines: string[] = [];
    for (const img of p.images) {
      lines.push(`- name: ${img.name}`, '  dmap:');
      for (const [digest, tags] of img.dmap) lines.push(`    ${q(digest)}: [${tags.map(q).join(', ')}]`);
    }
    await writeFile(join(dir, 'images', p.name, 'images.yaml'), lines.length ? `${lines.join('\n')}\n` : '[]\n');
  }
}
