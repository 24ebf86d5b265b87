// The benchmark's generated workload: N images spread over R repositories, built the way real
// images are (a distro base shared by many images, then an image's own layers), 10% of them
// multi-arch. Everything derives from the run prefix, so each bench run pushes fresh content:
// neither tool can profit from blobs an earlier run left behind.
import { OCI_INDEX, OCI_MANIFEST, sha256Digest, type RegistryClient } from '../../lib/oci';
import { imageFromLayers, makeLayer, prng, type BuiltImage } from '../seed-images';
import { mapPool } from '../../lib/util/pool';

export interface WorkloadOptions {
  /** Unique per bench run, e.g. "bench-mx1abc"; repositories live under it. */
  prefix: string;
  images: number;
  repos: number;
  /** Content bytes of an image's own layer (varies 0.5x..1.5x); base layers are twice this. */
  layerSize: number;
  /** Distro-like bases to pick from. */
  bases: number;
  /** Every `multiArchEvery`-th repository holds multi-arch images (2 platforms). */
  multiArchEvery: number;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface GeneratedImage {
  /** Repository below the prefix, e.g. "app-007". */
  name: string;
  tag: string;
  digest: string;
  multiArch: boolean;
  /** Child manifest digests of an index (empty for a single image). */
  children: string[];
  /** Every blob (configs, layers) the image needs, children included. */
  blobs: BlobInfo[];
}

export interface Workload {
  options: WorkloadOptions;
  images: GeneratedImage[];
  /** Distinct blobs across the workload: what each destination registry needs once. */
  uniqueBlobs: number;
  uniqueBlobBytes: number;
  /** Blob bytes if every image were copied in full (no sharing at all). */
  naiveBlobBytes: number;
  manifests: number;
}

const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
type Platform = (typeof PLATFORMS)[number];

/** "app-007" for repository 7 of 100. */
export function repoName(i: number, repos: number): string {
  return `app-${String(i).padStart(Math.max(3, String(repos - 1).length), '0')}`;
}

function buildImage(seed: string, platform: Platform, base: Uint8Array[], ownSizes: number[]): BuiltImage {
  const own = ownSizes.map((size, k) => makeLayer(`${seed}/${platform}/own${k}`, size));
  return imageFromLayers(platform, [...base, ...own], { 'dev.promoter.bench': seed }, (k) => (k < base.length ? 'base' : 'app'));
}

/** Base b for a platform: 2 or 3 layers of 2x layerSize, the same bytes for every image using it. */
function baseLayers(prefix: string, b: number, platform: Platform, layerSize: number): Uint8Array[] {
  return Array.from({ length: 2 + (b % 2) }, (_, k) => makeLayer(`${prefix}/base${b}/${platform}/${k}`, 2 * layerSize));
}

/**
 * Push the workload into `host` under `prefix/` and describe it. Repositories are seeded
 * `concurrency` at a time; each blob is pushed once per repository.
 */
export async function seedWorkload(client: RegistryClient, host: string, o: WorkloadOptions, concurrency = 6, onProgress?: (done: number) => void): Promise<Workload> {
  const bases = new Map<string, Uint8Array[]>();
  const baseFor = (b: number, p: Platform): Uint8Array[] => {
    const key = `${b}/${p}`;
    let layers = bases.get(key);
    if (!layers) bases.set(key, (layers = baseLayers(o.prefix, b, p, o.layerSize)));
    return layers;
  };

  // Image i lives in repository i % repos with tag v1.<i / repos>.0: every repository gets a few versions.
  const perRepo = Array.from({ length: o.repos }, () => [] as number[]);
  for (let i = 0; i < o.images; i++) perRepo[i % o.repos]!.push(i);

  const images: GeneratedImage[] = new Array(o.images);
  let done = 0;
  await mapPool(perRepo.map((list, r) => ({ list, r })), concurrency, async ({ list, r }) => {
    const name = repoName(r, o.repos);
    const repository = `${o.prefix}/${name}`;
    const multiArch = r % o.multiArchEvery === 0;
    const base = r % o.bases;
    const pushed = new Set<string>();
    const push = async (bytes: Uint8Array): Promise<BlobInfo> => {
      const digest = sha256Digest(bytes);
      if (!pushed.has(digest)) {
        pushed.add(digest);
        await client.pushBlob(host, repository, bytes);
      }
      return { digest, size: bytes.length };
    };
    for (const i of list) {
      const tag = `v1.${Math.floor(i / o.repos)}.0`;
      const seed = `${o.prefix}/${name}:${tag}`;
      const next = prng(seed);
      // One or two own layers, 0.5x..1.5x layerSize: images differ in shape as they do in life.
      const ownSizes = Array.from({ length: 1 + (next() % 2) }, () => Math.round(o.layerSize * (0.5 + (next() % 1000) / 1000)));
      const platforms: Platform[] = multiArch ? [...PLATFORMS] : ['linux/amd64'];
      const blobs: BlobInfo[] = [];
      const children: { digest: string; size: number; platform: Platform }[] = [];
      for (const p of platforms) {
        const built = buildImage(seed, p, baseFor(base, p), ownSizes);
        for (const b of built.blobs) blobs.push(await push(b));
        const mt = multiArch ? undefined : tag;
        const digest = await client.putManifest(mt ? { host, repository, tag: mt } : { host, repository, digest: sha256Digest(built.manifest) }, built.manifest, OCI_MANIFEST);
        children.push({ digest, size: built.manifest.length, platform: p });
      }
      let digest = children[0]!.digest;
      if (multiArch) {
        const index = new TextEncoder().encode(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: children.map((c) => {
              const [os, architecture] = c.platform.split('/');
              return { mediaType: OCI_MANIFEST, digest: c.digest, size: c.size, platform: { architecture, os } };
            }),
          }),
        );
        digest = await client.putManifest({ host, repository, tag }, index, OCI_INDEX);
      }
      images[i] = { name, tag, digest, multiArch, children: multiArch ? children.map((c) => c.digest) : [], blobs };
      onProgress?.(++done);
    }
  });

  const unique = new Map<string, number>();
  let naive = 0;
  for (const img of images) {
    const own = new Map(img.blobs.map((b) => [b.digest, b.size]));
    for (const [d, s] of own) {
      unique.set(d, s);
      naive += s;
    }
  }
  return {
    options: o,
    images,
    uniqueBlobs: unique.size,
    uniqueBlobBytes: [...unique.values()].reduce((a, b) => a + b, 0),
    naiveBlobBytes: naive,
    manifests: images.reduce((n, img) => n + 1 + img.children.length, 0),
  };
}

/** A kpromo plain manifest promoting every image from `src` to each destination. */
export function plainManifest(w: Workload, src: string, destinations: string[]): string {
  const byRepo = new Map<string, GeneratedImage[]>();
  for (const img of w.images) byRepo.set(img.name, [...(byRepo.get(img.name) ?? []), img]);
  const lines = ['registries:', `  - name: ${src}`, '    src: true', ...destinations.map((d) => `  - name: ${d}`), 'images:'];
  for (const [name, imgs] of [...byRepo].sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(`  - name: ${name}`, '    dmap:');
    for (const img of imgs) lines.push(`      "${img.digest}": ["${img.tag}"]`);
  }
  return `${lines.join('\n')}\n`;
}
