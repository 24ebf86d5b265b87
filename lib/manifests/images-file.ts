// One kpromo images.yaml on its own (`- name: x` / `dmap:`), checked by the same rules as in a
// thin layout: what `promoter snapshot --images FILE` reads its repository names from.
import path from 'node:path';
import { readImages, schemaFindings, type Findings } from './project';
import { MAX_MANIFEST_FILE_BYTES, manifestReadFinding, readBounded } from './read-bounded';
import { compareFindings } from './result';
import { ImagesFileSchema } from './schemas';
import type { ManifestError } from './types';
import { loadYaml } from './yaml-source';

export interface ImagesFile {
  /** Present only when `errors` is empty. */
  images?: { name: string; dmap: Record<string, string[]> }[];
  errors: ManifestError[];
}

/** Loads and checks an images.yaml; findings name it by its base name. */
export async function loadImagesFile(file: string): Promise<ImagesFile> {
  const rel = path.basename(file);
  // The same limit as every manifest file: at most 16 MiB, checked before reading.
  const read = await readBounded(file, MAX_MANIFEST_FILE_BYTES);
  if (!read.ok) return { errors: [manifestReadFinding(rel, read, 'the images file')] };
  const src = loadYaml(rel, read.text);
  const out: Findings = { errors: [...src.errors], warnings: [] };
  if (src.data === undefined) return { errors: out.errors };
  // An empty or comment-only images.yaml is an empty list, as in a thin layout.
  const list = src.data === null ? [] : src.data;
  out.errors.push(...schemaFindings(src, list, ImagesFileSchema));
  const images = readImages(src, list, [], out).map((r) => r.image);
  return out.errors.length > 0 ? { errors: out.errors.sort(compareFindings) } : { images, errors: [] };
}
