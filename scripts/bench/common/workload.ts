// The benches' workload: small generated images (a base shared by many, then an image's own layer
// or two; some of them multi-arch indexes), grouped into projects the way kpromo's thin manifests
// are (a source, its destination registries, image names with their digests and tags), seeded into
// the bench's staging registry and written out as thin manifests. The default bench makes one
// project of N images; the k8s shape one project per corpus project (shape/regions.ts).
//
// Every tool copies into its own repositories of the same registries: the promoter into the
// destinations as written, a peer into `<host>/<prefix>/<peer>/...` (peerDestination).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OCI_INDEX, OCI_MANIFEST, sha256Digest, type RegistryClient } from '../../../lib/oci';
import { mapPool } from '../../../lib/util/pool';
import { imageFromLayers, makeLayer } from '../../dev/seed-images';
import type { Role } from './access-log';
import type { PromotionWork } from './critical-path';

export interface BenchImage {
  digest: string;
  multiArch: boolean;
  /** Child manifest digests of an index. */
  children: string[];
  /** Every manifest, children before the index. */
  manifests: { digest: string; bytes: Uint8Array; mediaType: string }[];
  blobs: Uint8Array[];
}

export interface BenchProject {
  name: string;
  /** `host/prefix/staging/<project>` */
  source: string;
  /** Promoter destinations, first is the primary: `host/prefix/...`. */
  destinations: string[];
  images: { name: string; dmap: [string, string[]][] }[];
}

export type Peer = 'skopeo' | 'regsync';

export interface Workload {
  prefix: string;
  projects: BenchProject[];
  /** digest -> image */
  images: Map<string, BenchImage>;
  blobSizes: Map<string, number>;
  counts: {
    projects: number;
    imageNames: number;
    digests: number;
    multiArch: number;
    /** Platforms of a multi-arch image. */
    platforms: number;
    /** (image name, digest) pairs per project: what Sign and Attest work on */
    imageDigests: number;
    edges: number;
    destinationRegistries: number;
    destinationRepositories: number;
    sourceRepositories: number;
    /** Copy tasks: (destination repository, digest) pairs, each with its tags. */
    copyTasks: number;
    /** Most tags one digest carries in one repository. */
    maxTags: number;
    /** Sum over (project, image, digest) of manifests (1, or index + children) x destinations. */
    signedManifestDestinations: number;
    /** The same, mirrors only: what copying signatures from the primary has to cover. */
    signedManifestMirrorDestinations: number;
    distinctBlobs: number;
    distinctBlobBytes: number;
  };
}

/** `count` base layers of 2x layerSize for one platform: the same bytes for every image on base b. */
export function baseLayers(prefix: string, b: number, platform: string, layerSize: number, count = 2): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => makeLayer(`${prefix}/base${b}/${platform}/${k}`, 2 * layerSize));
}

/** One image (an index over one per platform when there are several) on a base, with own layers of the given sizes. */
export function buildImage(seed: string, platforms: readonly string[], base: (platform: string) => Uint8Array[], ownLayerSizes: readonly number[]): BenchImage {
  const built = platforms.map((p) => {
    const shared = base(p);
    const own = ownLayerSizes.map((size, k) => makeLayer(k ? `${seed}/${p}/${k}` : `${seed}/${p}`, size));
    return { platform: p, image: imageFromLayers(p, [...shared, ...own], { 'dev.promoter.bench': seed }, (k) => (k < shared.length ? 'base' : 'app')) };
  });
  const manifests = built.map((b) => ({ digest: sha256Digest(b.image.manifest), bytes: b.image.manifest, mediaType: OCI_MANIFEST }));
  const blobs = built.flatMap((b) => b.image.blobs);
  if (platforms.length === 1) return { digest: manifests[0]!.digest, multiArch: false, children: [], manifests, blobs };
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
  return {
    digest,
    multiArch: true,
    children: manifests.map((m) => m.digest),
    manifests: [...manifests, { digest, bytes: index, mediaType: OCI_INDEX }],
    blobs,
  };
}

/** The workload with its counts. */
export function workloadOf(prefix: string, projects: BenchProject[], images: Map<string, BenchImage>): Workload {
  const blobSizes = new Map<string, number>();
  for (const img of images.values()) for (const b of img.blobs) blobSizes.set(sha256Digest(b), b.length);
  let imageDigests = 0,
    signed = 0,
    signedMirrors = 0,
    maxTags = 0;
  const destRegistries = new Set<string>(),
    destRepos = new Set<string>(),
    srcRepos = new Set<string>(),
    edgeKeys = new Set<string>(),
    tasks = new Set<string>();
  for (const p of projects) {
    const dests = [...new Set(p.destinations)];
    dests.forEach((d) => destRegistries.add(d));
    for (const img of p.images) {
      srcRepos.add(`${p.source}/${img.name}`);
      for (const d of dests) destRepos.add(`${d}/${img.name}`);
      for (const [digest, tags] of img.dmap) {
        imageDigests++;
        maxTags = Math.max(maxTags, tags.length);
        signed += images.get(digest)!.manifests.length * dests.length;
        signedMirrors += images.get(digest)!.manifests.length * (dests.length - 1);
        for (const d of dests) {
          tasks.add(`${d}/${img.name}@${digest}`);
          for (const t of tags.length ? tags : ['']) edgeKeys.add(`${d}/${img.name}|${digest}|${t}`);
        }
      }
    }
  }
  const multi = [...images.values()].filter((i) => i.multiArch);
  return {
    prefix,
    projects,
    images,
    blobSizes,
    counts: {
      projects: projects.length,
      imageNames: projects.reduce((n, p) => n + p.images.length, 0),
      digests: images.size,
      multiArch: multi.length,
      platforms: multi[0]?.children.length ?? 1,
      imageDigests,
      edges: edgeKeys.size,
      destinationRegistries: destRegistries.size,
      destinationRepositories: destRepos.size,
      sourceRepositories: srcRepos.size,
      copyTasks: tasks.size,
      maxTags,
      signedManifestDestinations: signed,
      signedManifestMirrorDestinations: signedMirrors,
      distinctBlobs: blobSizes.size,
      distinctBlobBytes: [...blobSizes.values()].reduce((a, b) => a + b, 0),
    },
  };
}

/** What promoting the whole workload onto empty destinations is, for the critical-path floors. */
export function fullPromotion(w: Workload): PromotionWork {
  return { copyTasks: w.counts.copyTasks, anyIndex: w.counts.multiArch > 0, maxTags: w.counts.maxTags, signatureFormat: 'both' };
}

/** `host/prefix/rest` -> `host/prefix/<peer>/rest`: the same registry, the peer's own repositories. */
export function peerDestination(prefix: string, destination: string, peer: Peer): string {
  const at = destination.indexOf(`/${prefix}/`);
  if (at < 0) throw new Error(`${destination} is not under the bench prefix ${prefix}`);
  return `${destination.slice(0, at)}/${prefix}/${peer}/${destination.slice(at + prefix.length + 2)}`;
}

/** staging, primary (a project's first destination) or mirror, by the repository a request names, for every tool. */
export function roleClassifier(w: Workload): (repository: string) => Role {
  const roles = new Map<string, Role>();
  const pathOf = (registry: string): string => registry.slice(registry.indexOf('/') + 1);
  for (const p of w.projects) {
    roles.set(pathOf(p.source), 'staging');
    p.destinations.forEach((d, i) => {
      const role = i === 0 ? 'primary' : 'mirror';
      roles.set(pathOf(d), role);
      for (const peer of ['skopeo', 'regsync'] as const) roles.set(pathOf(peerDestination(w.prefix, d, peer)), role);
    });
  }
  // The registry path is the repository minus the image name (which may hold slashes itself).
  return (repository) => {
    for (let i = repository.lastIndexOf('/'); i > 0; i = repository.lastIndexOf('/', i - 1)) {
      const role = roles.get(repository.slice(0, i));
      if (role) return role;
    }
    return 'other';
  };
}

/** "host:port/path" -> host and the path after it. */
export function splitRegistry(name: string): { host: string; path: string } {
  const i = name.indexOf('/');
  return i < 0 ? { host: name, path: '' } : { host: name.slice(0, i), path: name.slice(i + 1) };
}

/** Pushes each image, by digest, into every staging repository that lists it (not timed by the bench). */
export async function seedWorkload(
  client: RegistryClient,
  projects: BenchProject[],
  images: ReadonlyMap<string, BenchImage>,
  only?: { project: string; image: string; digest: string },
  onProgress?: (done: number, of: number) => void,
): Promise<void> {
  const jobs: { host: string; repository: string; image: BenchImage }[] = [];
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
export async function writeThinManifests(dir: string, projects: BenchProject[]): Promise<void> {
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
