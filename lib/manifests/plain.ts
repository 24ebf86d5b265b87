// The one-file kpromo manifest: registries, images and policy blocks together.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Project } from './bundle';
import { crossProjectTagConflicts } from './conflicts';
import { readHead, readImages, schemaFindings, type Findings } from './project';
import { finish, wholeFile } from './result';
import { PlainManifestSchema } from './schemas';
import type { LoadResult } from './types';
import { loadYaml } from './yaml-source';

/**
 * Loads and checks a plain manifest. Findings name the file by its base name
 * (the root is the file's folder, where key paths are resolved too).
 */
export async function loadPlainManifest(file: string): Promise<LoadResult> {
  const abs = path.resolve(file);
  const rel = path.basename(abs);
  const out: Findings = { errors: [], warnings: [] };
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    out.errors.push(wholeFile(rel, 'file-read', `cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
    return finish([], out.errors, out.warnings);
  }
  const src = loadYaml(rel, text);
  out.errors.push(...src.errors);
  if (src.data === undefined) return finish([], out.errors, out.warnings);
  if (src.data === null) {
    out.errors.push(wholeFile(rel, 'empty-manifest', 'the manifest holds no YAML document', 1));
    return finish([], out.errors, out.warnings);
  }
  out.errors.push(...schemaFindings(src, src.data, PlainManifestSchema));
  const head = await readHead(src, src.data, path.dirname(abs), out);
  const images = readImages(src, (src.data as { images?: unknown }).images, ['images'], out);
  const name = rel.replace(/\.ya?ml$/i, '');
  // One file can still land two image entries in one repository through two
  // overlapping registry prefixes; the cross-project rule covers that too.
  out.errors.push(...crossProjectTagConflicts([{ name, file: rel, destinations: head.destinations, images }]));
  const project: Project = {
    name,
    file: rel,
    source: head.source,
    destinations: head.destinations,
    registryLines: head.lines,
    images: images.map((r) => r.image),
    signatures: head.signatures,
    provenance: head.provenance,
  };
  return finish([project], out.errors, out.warnings);
}
