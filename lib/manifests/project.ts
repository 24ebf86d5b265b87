// Rules that need more than a schema: the registry roles, duplicate images,
// tags claimed by two digests, the policy key files; and the lenient "salvage"
// pass that keeps every valid entry so a run reports all errors and best-effort
// counts even when some entries are bad. Everything here is one linear pass.
import { z } from 'zod';
import { DEFAULT_PROVENANCE_POLICY, DEFAULT_SIGNATURE_POLICY, type BundleImage, type ProvenancePolicy, type SignaturePolicy } from './bundle';
import { normalizeRegistry } from '../oci/reference';
import { issuesToErrors } from './issues';
import { loadKeys, type KeyDirs } from './public-keys';
import { DIGEST_RE, IMAGE_NAME_RE, TAG_RE, isRegistryName } from './patterns';
import { ProvenancePolicySchema, SignaturePolicySchema } from './schemas';
import type { ManifestError } from './types';
import type { PathSegment, YamlSource } from './yaml-source';

export interface Findings {
  errors: ManifestError[];
  warnings: ManifestError[];
  /** Absolute paths of the key files policies read (not strays in a thin tree). */
  keyFiles?: string[];
}

/** Registries and policies of one manifest, normalized. */
export interface ManifestHead {
  source: string;
  destinations: string[];
  /** The line of each registry's name (see Project.registryLines). */
  lines: { source: number; destinations: number[] };
  signatures: SignaturePolicy;
  provenance: ProvenancePolicy;
}

/** Where a tag of an image was written, for tag-conflict findings. */
interface TagSite {
  digest: string;
  src: YamlSource;
  path: PathSegment[];
}

export interface ImageRecord {
  image: BundleImage;
  /** tag -> the first digest that claimed it, and where. */
  tags: Map<string, TagSite>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Registry roles (exactly one source, at least one destination) and both policy blocks. */
export async function readHead(src: YamlSource, data: unknown, keyDirs: KeyDirs, out: Findings): Promise<ManifestHead> {
  const doc = isObject(data) ? data : {};
  const regs: unknown[] = Array.isArray(doc.registries) ? doc.registries : [];
  const sources: number[] = [];
  let destinationEntries = 0;
  const destinations: string[] = [];
  const lines = { source: 0, destinations: [] as number[] };
  const firstSeen = new Map<string, number>();
  regs.forEach((entry, i) => {
    if (!isObject(entry)) return;
    if (entry.src === true) {
      sources.push(i);
      return;
    }
    destinationEntries++;
    if (typeof entry.name !== 'string' || !isRegistryName(entry.name)) return; // the schema reports it
    // One spelling of every registry from here on (bundle, plan, records): Reg.example.com is reg.example.com.
    const name = normalizeRegistry(entry.name);
    const first = firstSeen.get(name);
    if (first !== undefined) {
      const at = src.locate(['registries', first, 'name']);
      const as = name === entry.name ? '' : ` (as ${entry.name})`;
      out.warnings.push(
        src.error(
          ['registries', i, 'name'],
          'duplicate-destination',
          `registry ${name} is listed again${as} (first at line ${at.line}); it is promoted to once`,
        ),
      );
      return;
    }
    firstSeen.set(name, i);
    destinations.push(name);
    lines.destinations.push(src.locate(['registries', i, 'name']).line);
  });

  let source = '';
  if (Array.isArray(doc.registries)) {
    if (sources.length === 0) {
      out.errors.push(src.error(['registries'], 'one-source', 'no registry has src: true; exactly one must', true));
    }
    for (const extra of sources.slice(1)) {
      out.errors.push(
        src.error(
          ['registries', extra, 'src'],
          'one-source',
          `a second registry has src: true (first at line ${src.locate(['registries', sources[0]!]).line}); exactly one must`,
        ),
      );
    }
    if (destinationEntries === 0) {
      out.errors.push(src.error(['registries'], 'no-destination', 'no destination registry (an entry without src: true)', true));
    }
    const first = sources[0] === undefined ? undefined : regs[sources[0]];
    if (isObject(first) && typeof first.name === 'string') {
      source = isRegistryName(first.name) ? normalizeRegistry(first.name) : first.name;
      lines.source = src.locate(['registries', sources[0]!, 'name']).line;
      const same = firstSeen.get(source);
      if (same !== undefined) {
        out.errors.push(src.error(['registries', same, 'name'], 'source-is-destination', `registry ${source} is both the source and a destination`));
      }
    }
  }

  const signatures = await readPolicy(src, doc.signatures, 'signatures', SignaturePolicySchema, DEFAULT_SIGNATURE_POLICY, keyDirs, out);
  const provenance = await readPolicy(src, doc.provenance, 'provenance', ProvenancePolicySchema, DEFAULT_PROVENANCE_POLICY, keyDirs, out);
  return { source, destinations, lines, signatures, provenance };
}

async function readPolicy<P extends { mode: string; keys: string[] }>(
  src: YamlSource,
  raw: unknown,
  block: 'signatures' | 'provenance',
  schema: z.ZodType<P, unknown>,
  fallback: P,
  keyDirs: KeyDirs,
  out: Findings,
): Promise<P> {
  if (raw === undefined) return structuredClone(fallback);
  // Schema findings for the block come from the whole-file schema. Keys are
  // loaded even when another part of the block is bad, so all errors show.
  const rawKeys = isObject(raw) && Array.isArray(raw.keys) ? raw.keys : [];
  const entries = rawKeys.map((k) => (typeof k === 'string' && k !== '' ? k : undefined));
  const { pems, errors, files } = await loadKeys(src, entries, [block, 'keys'], keyDirs);
  out.errors.push(...errors);
  (out.keyFiles ??= []).push(...files);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return structuredClone(fallback);
  const policy = { ...parsed.data, keys: pems };
  if (policy.mode === 'require' && policy.keys.length === 0 && ((policy as { identities?: unknown[] }).identities?.length ?? 0) === 0) {
    out.warnings.push(
      src.error(
        [block, 'mode'],
        'policy-no-trust',
        `${block}: mode require names no keys or identities; only trust material configured on the worker can satisfy it`,
      ),
    );
  }
  return policy;
}

/**
 * The images list at `prefix` in `src`: keeps every well-formed image and
 * digest, reports duplicate image names and tags claimed by two digests.
 */
export function readImages(src: YamlSource, raw: unknown, prefix: PathSegment[], out: Findings): ImageRecord[] {
  const records: ImageRecord[] = [];
  if (!Array.isArray(raw)) return records;
  const byName = new Map<string, number>();
  raw.forEach((entry, i) => {
    if (!isObject(entry)) return;
    const name = entry.name;
    if (typeof name !== 'string' || !IMAGE_NAME_RE.test(name)) return; // the schema reports it
    const first = byName.get(name);
    if (first !== undefined) {
      out.errors.push(
        src.error(
          [...prefix, i, 'name'],
          'duplicate-image',
          `image ${name} is listed again (first at line ${src.locate([...prefix, first, 'name']).line}); merge the two dmaps`,
        ),
      );
      return;
    }
    byName.set(name, i);
    const dmap: Record<string, string[]> = {};
    const tags = new Map<string, TagSite>();
    if (isObject(entry.dmap)) {
      for (const [digest, list] of Object.entries(entry.dmap)) {
        if (!DIGEST_RE.test(digest) || !Array.isArray(list)) continue;
        if (!list.every((t) => typeof t === 'string' && TAG_RE.test(t))) continue;
        const seen = new Set<string>();
        list.forEach((tag: string, t) => {
          if (seen.has(tag)) return; // the same tag twice under one digest is harmless
          seen.add(tag);
          const site = tags.get(tag);
          const here = [...prefix, i, 'dmap', digest, t];
          if (site) {
            out.errors.push(
              src.error(here, 'tag-conflict', `tag ${tag} of image ${name} is claimed by ${digest} and by ${site.digest} (line ${src.locate(site.path).line})`),
            );
            return;
          }
          tags.set(tag, { digest, src, path: here });
        });
        dmap[digest] = [...seen];
      }
    }
    records.push({ image: { name, dmap }, tags });
  });
  return records;
}

/** Schema findings of `data` against `schema`, located in `src`. */
export function schemaFindings(src: YamlSource, data: unknown, schema: z.ZodType): ManifestError[] {
  const r = schema.safeParse(data);
  return r.success ? [] : issuesToErrors(src, r.error.issues);
}
