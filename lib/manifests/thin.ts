// The thin layout kept by kubernetes/k8s.io:
//   manifests/<p>/promoter-manifest.yaml   registries (+ policy blocks)
//   images/<p>/images.yaml                 the images of project <p>
// Files are taken only at exactly that depth and only as regular files: a
// symlink could pull unreviewed content from outside the tree into a promotion.
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Project } from './bundle';
import { crossProjectTagConflicts, type ProjectUnit } from './conflicts';
import { readHead, readImages, schemaFindings, type Findings } from './project';
import { MAX_MANIFEST_FILE_BYTES, manifestReadFinding, readBounded } from './read-bounded';
import { finish, mapLimit, wholeFile } from './result';
import { ImagesFileSchema, ThinManifestSchema } from './schemas';
import type { LoadResult } from './types';
import { loadYaml } from './yaml-source';

const THIN_MANIFEST_FILE = 'promoter-manifest.yaml';
const THIN_IMAGES_FILE = 'images.yaml';

const YAML_NAME_RE = /\.ya?ml$/i;
const READ_CONCURRENCY = 16;

/** Loads and checks a thin-manifest tree; findings name files relative to `dir`. */
export async function loadThinManifests(dir: string): Promise<LoadResult> {
  const root = path.resolve(dir);
  const out: Findings = { errors: [], warnings: [] };

  const rootKind = await kind(root);
  if (rootKind !== 'dir') {
    out.errors.push(wholeFile('.', 'thin-layout', rootKind === 'missing' ? `${dir} does not exist` : `${dir} is not a folder`));
    return finish([], out.errors, out.warnings);
  }
  const top = await Promise.all(
    ['manifests', 'images'].map(async (name) => {
      const k = await kind(path.join(root, name));
      if (k === 'dir') return true;
      if (k === 'symlink') out.errors.push(wholeFile(name, 'thin-symlink', `${name}/ is a symlink; it must be a folder in the tree`));
      else out.errors.push(wholeFile(name, 'thin-missing-dir', k === 'missing' ? `${name}/ is missing` : `${name} is not a folder`));
      return false;
    }),
  );
  if (!top.every(Boolean)) return finish([], out.errors, out.warnings);

  const manifests = await scanSide(root, 'manifests', THIN_MANIFEST_FILE, out);
  const images = await scanSide(root, 'images', THIN_IMAGES_FILE, out);

  const names: string[] = [];
  for (const p of [...manifests.keys()].sort()) {
    if (!manifests.get(p)) continue; // folder without a usable manifest, already reported
    const has = images.get(p);
    if (has === undefined) {
      out.errors.push(wholeFile(`manifests/${p}/${THIN_MANIFEST_FILE}`, 'thin-missing-images', `images/${p}/${THIN_IMAGES_FILE} is missing`, 1));
      continue;
    }
    if (has) names.push(p);
  }
  for (const [p, ok] of images) {
    if (ok && !manifests.has(p)) {
      out.errors.push(
        wholeFile(`images/${p}/${THIN_IMAGES_FILE}`, 'thin-orphan-images', `no manifests/${p}/${THIN_MANIFEST_FILE}: these images would never be promoted`, 1),
      );
    }
  }
  if (manifests.size === 0) out.errors.push(wholeFile('manifests', 'thin-no-projects', `manifests/ holds no <project>/${THIN_MANIFEST_FILE}`));

  const loaded = await mapLimit(names, READ_CONCURRENCY, (p) => loadProject(root, p));
  const projects: Project[] = [];
  const units: ProjectUnit[] = [];
  for (const l of loaded) {
    out.errors.push(...l.findings.errors);
    out.warnings.push(...l.findings.warnings);
    if (l.project) projects.push(l.project);
    if (l.unit) units.push(l.unit);
  }
  out.errors.push(...crossProjectTagConflicts(units));
  // A key file kept next to its manifest is part of the tree, not a stray.
  const keyFiles = new Set(loaded.flatMap((l) => l.findings.keyFiles ?? []));
  const warnings = out.warnings.filter((w) => w.rule !== 'thin-stray-file' || !keyFiles.has(path.join(root, w.file)));
  return finish(projects, out.errors, warnings);
}

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'missing';

async function kind(p: string): Promise<Kind> {
  try {
    const s = await lstat(p);
    return s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

function direntKind(d: Dirent): Kind {
  return d.isSymbolicLink() ? 'symlink' : d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other';
}

/**
 * Scans `side`/ (manifests or images): returns project -> whether `<p>/<expected>`
 * is a regular file (false: present but unusable, already reported). Anything
 * else is reported: YAML in an unexpected place is an error, other files warn.
 */
async function scanSide(root: string, side: string, expected: string, out: Findings): Promise<Map<string, boolean>> {
  const found = new Map<string, boolean>();
  for (const d of await readdir(path.join(root, side), { withFileTypes: true })) {
    const rel = `${side}/${d.name}`;
    const k = direntKind(d);
    if (k === 'dir') {
      const usable = await scanProjectDir(root, rel, expected, out);
      if (usable !== undefined) found.set(d.name, usable);
      else if (side === 'manifests') {
        out.errors.push(wholeFile(rel, 'thin-missing-manifest', `${rel}/ has no ${expected}`));
      }
    } else if (k === 'symlink' && !YAML_NAME_RE.test(d.name)) {
      out.errors.push(wholeFile(rel, 'thin-symlink', `${rel} is a symlink; project folders must be real folders`));
      found.set(d.name, false); // the project exists but is unusable: no follow-up findings
    } else {
      stray(rel, out);
    }
  }
  return found;
}

/** undefined: `expected` absent; true: a regular file; false: present but not usable (reported). */
async function scanProjectDir(root: string, relDir: string, expected: string, out: Findings): Promise<boolean | undefined> {
  let result: boolean | undefined;
  for (const d of await readdir(path.join(root, relDir), { withFileTypes: true })) {
    const rel = `${relDir}/${d.name}`;
    const k = direntKind(d);
    if (d.name === expected) {
      if (k === 'file') result = true;
      else {
        result = false;
        out.errors.push(
          wholeFile(
            rel,
            k === 'symlink' ? 'thin-symlink' : 'thin-unexpected-file',
            k === 'symlink' ? `${rel} is a symlink; it must be a regular file` : `${rel} is not a regular file`,
          ),
        );
      }
    } else if (k === 'dir') {
      await strayTree(root, rel, out);
    } else {
      stray(rel, out);
    }
  }
  return result;
}

async function strayTree(root: string, relDir: string, out: Findings): Promise<void> {
  for (const d of await readdir(path.join(root, relDir), { withFileTypes: true })) {
    const rel = `${relDir}/${d.name}`;
    if (direntKind(d) === 'dir') await strayTree(root, rel, out);
    else stray(rel, out);
  }
}

function stray(rel: string, out: Findings): void {
  if (YAML_NAME_RE.test(rel)) {
    out.errors.push(
      wholeFile(rel, 'thin-unexpected-file', `YAML outside the layout: only manifests/<p>/${THIN_MANIFEST_FILE} and images/<p>/${THIN_IMAGES_FILE} are read`),
    );
  } else {
    out.warnings.push(wholeFile(rel, 'thin-stray-file', 'not part of the thin layout; ignored'));
  }
}

interface LoadedProject {
  findings: Findings;
  project?: Project;
  unit?: ProjectUnit;
}

async function loadProject(root: string, p: string): Promise<LoadedProject> {
  const findings: Findings = { errors: [], warnings: [] };
  const manifestRel = `manifests/${p}/${THIN_MANIFEST_FILE}`;
  const imagesRel = `images/${p}/${THIN_IMAGES_FILE}`;
  const [mText, iText] = await Promise.all([read(root, manifestRel, findings), read(root, imagesRel, findings)]);
  if (mText === undefined || iText === undefined) return { findings };

  const m = loadYaml(manifestRel, mText);
  const im = loadYaml(imagesRel, iText);
  findings.errors.push(...m.errors, ...im.errors);

  if (m.data === null) findings.errors.push(wholeFile(manifestRel, 'empty-manifest', 'the manifest holds no YAML document', 1));
  else if (m.data !== undefined) findings.errors.push(...schemaFindings(m, m.data, ThinManifestSchema));
  const head = await readHead(m, m.data ?? null, { base: path.join(root, 'manifests', p), tree: root }, findings);
  imagesPathNote(m.data, p, m, findings);

  // An empty or comment-only images.yaml is an empty list.
  const list = im.data === null ? [] : im.data;
  if (list !== undefined) findings.errors.push(...schemaFindings(im, list, ImagesFileSchema));
  const images = readImages(im, list, [], findings);

  const project: Project = {
    name: p,
    file: manifestRel,
    source: head.source,
    destinations: head.destinations,
    registryLines: head.lines,
    images: images.map((r) => r.image),
    signatures: head.signatures,
    provenance: head.provenance,
  };
  return { findings, project, unit: { name: p, file: manifestRel, destinations: head.destinations, images } };
}

async function read(root: string, rel: string, findings: Findings): Promise<string | undefined> {
  // The scan saw a regular file here; O_NOFOLLOW keeps a symlink put in its place since out.
  const r = await readBounded(path.join(root, rel), MAX_MANIFEST_FILE_BYTES, { noFollow: true });
  if (r.ok) return r.text;
  findings.errors.push(manifestReadFinding(rel, r));
  return undefined;
}

/** `imagesPath` is deprecated and ignored; say so when it points somewhere else. */
function imagesPathNote(data: unknown, p: string, m: ReturnType<typeof loadYaml>, findings: Findings): void {
  const v = (data as { imagesPath?: unknown } | null | undefined)?.imagesPath;
  if (typeof v !== 'string') return;
  const target = path.posix.normalize(path.posix.join('manifests', p, v));
  if (target !== `images/${p}/${THIN_IMAGES_FILE}`) {
    findings.warnings.push(
      m.error(['imagesPath'], 'images-path-ignored', `imagesPath ${JSON.stringify(v)} is ignored; images are read from images/${p}/${THIN_IMAGES_FILE}`),
    );
  }
}
