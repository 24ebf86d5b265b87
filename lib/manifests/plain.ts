// The one-file kpromo manifest: registries, images and policy blocks together.
import path from 'node:path';
import type { Project } from './bundle';
import { crossProjectTagConflicts } from './conflicts';
import { readHead, readImages, schemaFindings, type Findings } from './project';
import { MAX_MANIFEST_FILE_BYTES, manifestReadFinding, readBounded } from './read-bounded';
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
  const read = await readBounded(abs, MAX_MANIFEST_FILE_BYTES);
  if (!read.ok) {
    out.errors.push(manifestReadFinding(rel, read, 'the manifest'));
    return finish([], out.errors, out.warnings);
  }
  const src = loadYaml(rel, read.text);
  out.errors.push(...src.errors);
  if (src.data === undefined) return finish([], out.errors, out.warnings);
  if (src.data === null) {
    out.errors.push(wholeFile(rel, 'empty-manifest', 'the manifest holds no YAML document', 1));
    return finish([], out.errors, out.warnings);
  }
  out.errors.push(...schemaFindings(src, src.data, PlainManifestSchema));
  // A plain manifest's tree is its folder: key files are named from there and stay in it.
  const head = await readHead(src, src.data, { base: path.dirname(abs), tree: path.dirname(abs) }, out);
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
