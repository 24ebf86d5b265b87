// Builds manifest trees in temp folders so each rule can be checked on both layouts.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { loadPlainManifest, loadThinManifests, type LoadResult } from '../../../lib/manifests';

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(prefix = 'manifests-'): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
}

export const D1 = 'sha256:bb4eca334f61af3b67b5d528907d30285151610200539302f4c8cabe66225b53';
export const D2 = 'sha256:4963bd713a7eb1bce458868b0c8472bdc8bc5929a7892a92dd24344aea92093d';
export const D3 = 'sha256:0eee564df03dd427c2b459d27041e67d23ee2f0deb770261ddf56bff8e043408';

export const HEAD = `registries:
- name: 127.0.0.1:5001/staging
  src: true
- name: 127.0.0.1:5002/prod
  service-account: promoter@example.iam.gserviceaccount.com
- name: 127.0.0.1:5003/mirror
`;

export const IMAGES = `- name: foo
  dmap:
    "${D1}": ["v1.0.0"]
`;

/** The marker that flags the line a test expects a finding on. */
export const MARK = '#<-';

export interface Loaded {
  result: LoadResult;
  /** File name (as findings give it) and text of the manifest and of the images. */
  headFile: string;
  imagesFile: string;
  texts: Record<string, string>;
}

export type Layout = 'plain' | 'thin';

/**
 * Writes `head` (registries and policy blocks) and `images` (a YAML list) as a
 * plain manifest or as a one-project thin tree, plus `extra` files placed
 * relative to the manifest's folder, and loads it.
 */
export async function loadAs(layout: Layout, head: string, images: string, extra: Record<string, string> = {}): Promise<Loaded> {
  const root = await tempDir(`manifests-${layout}-`);
  if (layout === 'plain') {
    const text = `${head}images:\n${images}`;
    const files: Record<string, string> = { 'promoter.yaml': text };
    for (const [rel, t] of Object.entries(extra)) files[rel] = t;
    await writeTree(root, files);
    return {
      result: await loadPlainManifest(path.join(root, 'promoter.yaml')),
      headFile: 'promoter.yaml',
      imagesFile: 'promoter.yaml',
      texts: { 'promoter.yaml': text },
    };
  }
  const headFile = 'manifests/p/promoter-manifest.yaml';
  const imagesFile = 'images/p/images.yaml';
  const files: Record<string, string> = { [headFile]: head, [imagesFile]: images };
  for (const [rel, t] of Object.entries(extra)) files[`manifests/p/${rel}`] = t;
  await writeTree(root, files);
  return { result: await loadThinManifests(root), headFile, imagesFile, texts: { [headFile]: head, [imagesFile]: images } };
}

/** [file, line] of every marked line, in the files as the loader saw them. */
export function marked(l: Loaded): [string, number][] {
  const out: [string, number][] = [];
  for (const [file, text] of Object.entries(l.texts)) {
    text.split('\n').forEach((line, i) => {
      if (line.includes(MARK)) out.push([file, i + 1]);
    });
  }
  return out;
}

export function findings(r: LoadResult, which: 'errors' | 'warnings' = 'errors'): [string, number, string][] {
  return r[which].map((e) => [e.file, e.line, e.rule]);
}
