/**
 * The demo's staging images. Generated from fixed seeds, so their digests are always the same
 * and the committed example manifests in examples/ can name them. Layers are shared between
 * images the way real images share a base layer.
 */
import { type RegistryClient } from '../../../lib/oci';
import { makeLayer, pushRandomImage, type SeedOptions } from '../seed-images';

interface DemoImage {
  name: string;
  tags: string[];
  opts: SeedOptions;
}

const base = (): Uint8Array[] => [makeLayer('demo/base-os', 256 * 1024)];

const DEMO_IMAGES: DemoImage[] = [
  { name: 'hello', tags: ['v1.0.0'], opts: { seed: 'demo/hello:v1.0.0', layers: 2, layerSize: 128 * 1024 } },
  { name: 'hello', tags: ['v1.1.0', 'stable'], opts: { seed: 'demo/hello:v1.1.0', layers: 2, layerSize: 128 * 1024 } },
  { name: 'multiarch', tags: ['v2.0.0'], opts: { seed: 'demo/multiarch:v2.0.0', layers: 1, layerSize: 96 * 1024, platforms: ['linux/amd64', 'linux/arm64'] } },
  { name: 'tools/kubectl-plugin', tags: ['v0.3.0'], opts: { seed: 'demo/tools:v0.3.0', layers: 1, layerSize: 64 * 1024 } },
];

export interface SeededDemoImage {
  name: string;
  tags: string[];
  digest: string;
}

/** Push the demo images into `host/prefix/<name>` (idempotent: same bytes, same digests). */
export async function seedDemoImages(client: RegistryClient, host: string, prefix: string): Promise<SeededDemoImage[]> {
  const out: SeededDemoImage[] = [];
  const sharedLayers = base();
  for (const img of DEMO_IMAGES) {
    const pushed = await pushRandomImage(client, host, `${prefix}/${img.name}`, { ...img.opts, sharedLayers });
    out.push({ name: img.name, tags: img.tags, digest: pushed.digest });
  }
  return out;
}

/** images.yaml text for the seeded images. */
export function imagesYaml(images: SeededDemoImage[]): string {
  const byName = new Map<string, SeededDemoImage[]>();
  for (const i of images) byName.set(i.name, [...(byName.get(i.name) ?? []), i]);
  const lines: string[] = [];
  for (const [name, list] of byName) {
    lines.push(`- name: ${name}`, '  dmap:');
    for (const i of list) lines.push(`    "${i.digest}": [${i.tags.map((t) => `"${t}"`).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}
