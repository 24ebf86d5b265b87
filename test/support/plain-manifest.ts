// A plain promoter manifest (kpromo's one-file layout) in a fresh temporary folder: one source
// registry, the destinations in order (the first is the primary), each image's digest with its tags.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ManifestImage {
  name: string;
  digest: string;
  /** Default: ["v1"]. */
  tags?: string[];
}

export interface ManifestOptions {
  /** Policy lines (signatures:, provenance:) as YAML at the top level. */
  policy?: string;
  /** The folder to write into (default: a fresh temporary one), e.g. next to key files the policy names. */
  dir?: string;
}

export async function writePlainManifest(source: string, destinations: string[], images: ManifestImage[], opts: ManifestOptions = {}): Promise<string> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'promoter-manifest-')));
  const file = join(dir, 'promoter-manifest.yaml');
  const lines = [
    'registries:',
    `  - name: ${source}`,
    '    src: true',
    ...destinations.map((d) => `  - name: ${d}`),
    ...(opts.policy ? [opts.policy.trimEnd()] : []),
    'images:',
    ...images.flatMap((i) => [`  - name: ${i.name}`, '    dmap:', `      "${i.digest}": [${(i.tags ?? ['v1']).map((t) => `"${t}"`).join(', ')}]`]),
    '',
  ];
  await writeFile(file, lines.join('\n'));
  return file;
}
