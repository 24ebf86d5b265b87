import { loadPlainManifest, loadThinManifests, type LoadResult } from '../lib/manifests';
import { UsageError } from './connect';

export interface ManifestSource {
  manifest?: string;
  thinManifestDir?: string;
}

/** Exactly one of --manifest / --thin-manifest-dir; returns what the loader found. */
export async function loadManifests(src: ManifestSource): Promise<{ result: LoadResult; origin: string }> {
  if (!!src.manifest === !!src.thinManifestDir) throw new UsageError('give exactly one of --manifest FILE or --thin-manifest-dir DIR');
  if (src.manifest) return { result: await loadPlainManifest(src.manifest), origin: `--manifest ${src.manifest}` };
  return { result: await loadThinManifests(src.thinManifestDir!), origin: `--thin-manifest-dir ${src.thinManifestDir}` };
}
