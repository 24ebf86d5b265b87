// N small generated images in staging under a fresh prefix and the plain manifest that promotes
// them to production and both mirrors: a Promote of some seconds, for tests that act in its middle.
import { RegistryClient } from '../../lib/oci';
import { makeLayer, pushRandomImage } from '../../scripts/dev/seed-images';
import { mapPool } from '../../lib/util/pool';
import { writePlainManifest } from './plain-manifest';
import { stack, uniqueName } from './stack-env';

export interface ImageSet {
  prefix: string;
  oci: RegistryClient;
  images: { name: string; digest: string; tag: string }[];
  destinations: string[];
  manifest: string;
}

/** `source`: the registry the manifest names as src (default staging; e.g. a proxy in front of it). */
export async function seedImageSet(label: string, count: number, opts: { source?: string } = {}): Promise<ImageSet> {
  const s = stack();
  const prefix = uniqueName(label);
  const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  const base = [makeLayer(`${prefix}/base`, 32 * 1024)];
  const images = await mapPool(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const name = `img-${String(i).padStart(2, '0')}`;
      const pushed = await pushRandomImage(oci, s.registries.staging, `${prefix}/${name}`, {
        seed: `${prefix}/${name}`,
        layers: 2,
        layerSize: 16 * 1024,
        sharedLayers: base,
      });
      return { name, digest: pushed.digest, tag: `v${i}.0.0` };
    },
  );
  const destinations = [s.registries.production, ...s.registries.mirrors];
  const manifest = await writePlainManifest(
    `${opts.source ?? s.registries.staging}/${prefix}`,
    destinations.map((d) => `${d}/${prefix}`),
    images.map((img) => ({ name: img.name, digest: img.digest, tags: [img.tag] })),
  );
  return { prefix, oci, images, destinations, manifest };
}
