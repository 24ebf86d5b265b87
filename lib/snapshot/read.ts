// What a registry holds under a prefix, read by the OCI API alone: the repositories from
// /v2/_catalog (or named by the caller where the registry does not list them), each one's tags
// from tags/list and the digest of each tag by HEAD. The result is an images list in kpromo's
// images.yaml shape, so it can seed or backfill a thin manifest. Every read is bounded.
import { IMAGE_NAME_RE, isRegistryName } from '../manifests/patterns';
import { CATALOG_DEFAULTS, DIGEST_RE, listRepositories, TAG_RE, type RegistryClient } from '../oci';
import { mapPool } from '../util/pool';

/** The registry reads a snapshot needs: RegistryClient in use, an in-memory fake in unit tests. */
export interface SnapshotRegistry {
  /** Every repository the host's catalog lists (throws CatalogError where there is none). */
  listRepositories(host: string): Promise<string[]>;
  listTags(host: string, repository: string): Promise<string[]>;
  /** The digest `tag` points at, or undefined when it is gone. */
  tagDigest(host: string, repository: string, tag: string): Promise<string | undefined>;
}

export function snapshotRegistryOf(client: RegistryClient, maxCatalogEntries = CATALOG_DEFAULTS.maxRepositories): SnapshotRegistry {
  return {
    listRepositories: (host) => listRepositories(client, host, { maxRepositories: maxCatalogEntries }),
    listTags: (host, repository) => client.listTags(host, repository),
    tagDigest: async (host, repository, tag) => (await client.headManifest({ host, repository, tag }))?.digest,
  };
}

export interface SnapshotLimits {
  /** Repositories under the prefix: more stops the snapshot (narrow the prefix). */
  maxRepositories: number;
  /** Tags of one repository (signature tags left out): more stops the snapshot. */
  maxTagsPerRepository: number;
  /** Repositories read at once, and HEADs at once within one (the client's per-host budget applies beneath). */
  concurrency: number;
}

const SNAPSHOT_DEFAULTS: SnapshotLimits = { maxRepositories: 10_000, maxTagsPerRepository: 10_000, concurrency: 8 };

export interface SnapshotImage {
  /** The repository below the prefix. */
  name: string;
  /** digest -> its tags, both sorted. */
  dmap: Record<string, string[]>;
}

export interface Snapshot {
  /** host[/prefix], as asked. */
  registry: string;
  images: SnapshotImage[];
  /** What was left out, and why (a name or tag outside the OCI grammar, a tag gone while reading, …). */
  skipped: string[];
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/**
 * Signature, attestation and referrers-fallback tags (`sha256-<hex>`, `sha256-<hex>.sig`, …):
 * they belong to the digest they name, not to the images list.
 */
const DIGEST_TAG_RE = /^sha256-[0-9a-f]{64}(?:\.[A-Za-z0-9]+)?$/;

/** "host/prefix" -> host and prefix ("" for a whole registry). */
export function splitRegistry(registry: string): { host: string; prefix: string } {
  if (!isRegistryName(registry)) throw new SnapshotError(`${JSON.stringify(registry)} is not a registry name (host[:port][/path])`);
  const slash = registry.indexOf('/');
  return slash < 0 ? { host: registry, prefix: '' } : { host: registry.slice(0, slash), prefix: registry.slice(slash + 1) };
}

/**
 * Reads the images under `registry`: those named in `names` (image names below the prefix), or
 * every repository the catalog lists under the prefix.
 */
export async function readSnapshot(
  reg: SnapshotRegistry,
  registry: string,
  names?: readonly string[],
  limits: Partial<SnapshotLimits> = {},
): Promise<Snapshot> {
  const lim = { ...SNAPSHOT_DEFAULTS, ...limits };
  const { host, prefix } = splitRegistry(registry);
  const skipped: string[] = [];
  const wanted = names ? [...new Set(names)] : imageNamesUnder(await reg.listRepositories(host), prefix, skipped);
  for (const n of wanted) if (!IMAGE_NAME_RE.test(n)) throw new SnapshotError(`${JSON.stringify(n)} is not an image name`);
  if (wanted.length > lim.maxRepositories) {
    throw new SnapshotError(`${registry} holds ${wanted.length} repositories, more than ${lim.maxRepositories}: narrow the prefix`);
  }

  const images = await mapPool([...wanted].sort(), lim.concurrency, async (name) => {
    const repository = prefix ? `${prefix}/${name}` : name;
    const where = `${host}/${repository}`;
    const tags: string[] = [];
    for (const t of await reg.listTags(host, repository)) {
      if (DIGEST_TAG_RE.test(t)) continue;
      if (TAG_RE.test(t)) tags.push(t);
      else skipped.push(`${where}: tag ${JSON.stringify(t.slice(0, 140))} is outside the tag grammar`);
    }
    if (tags.length > lim.maxTagsPerRepository) throw new SnapshotError(`${where} has ${tags.length} tags, more than ${lim.maxTagsPerRepository}`);
    const dmap: Record<string, string[]> = {};
    await mapPool(tags, lim.concurrency, async (tag) => {
      const digest = await reg.tagDigest(host, repository, tag);
      if (digest === undefined) skipped.push(`${where}:${tag}: gone while reading`);
      else if (!DIGEST_RE.test(digest)) skipped.push(`${where}:${tag}: the registry answered digest ${JSON.stringify(digest.slice(0, 80))}`);
      else (dmap[digest] ??= []).push(tag);
    });
    if (Object.keys(dmap).length === 0) {
      skipped.push(`${where}: no tag (tagless digests are invisible to tags/list)`);
      return undefined;
    }
    return { name, dmap: sortedDmap(dmap) };
  });
  return { registry, images: images.filter((i): i is SnapshotImage => i !== undefined), skipped: skipped.sort() };
}

/** The catalog's repositories below `prefix`, as image names. */
function imageNamesUnder(repositories: string[], prefix: string, skipped: string[]): string[] {
  const out: string[] = [];
  for (const r of repositories) {
    if (prefix && !r.startsWith(`${prefix}/`)) continue;
    const name = prefix ? r.slice(prefix.length + 1) : r;
    if (IMAGE_NAME_RE.test(name)) out.push(name);
    else skipped.push(`repository ${JSON.stringify(r.slice(0, 200))} is outside the repository grammar`);
  }
  return out;
}

function sortedDmap(dmap: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.keys(dmap)
      .sort()
      .map((d) => [d, dmap[d]!.sort()]),
  );
}
