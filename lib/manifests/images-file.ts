// One kpromo images.yaml on its own (`- name: x` / `dmap:`), checked by the same rules as in a
// thin layout: what `promoter snapshot --images FILE` reads its repository names from.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readImages, schemaFindings, type Findings } from './project';
import { compareFindings, wholeFile } from './result';
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { errors: [wholeFile(rel, 'file-read', `cannot read the images file (${(e as NodeJS.ErrnoException).code ?? String(e)})`)] };
  }
  const src = loadYaml(rel, text);
  const out: Findings = { errors: [...src.errors], warnings: [] };
  if (src.data === undefined) return { errors: out.errors };
  // An empty or comment-only images.yaml is an empty list, as in a thin layout.
  const list = src.data === null ? [] : src.data;
  out.errors.push(...schemaFindings(src, list, ImagesFileSchema));
  const images = readImages(src, list, [], out).map((r) => r.image);
  return out.errors.length > 0 ? { errors: out.errors.sort(compareFindings) } : { images, errors: [] };
}
