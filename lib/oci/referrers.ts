// OCI 1.1 referrers: the referrers API where a registry has it, otherwise the
// tag schema fallback, an OCI index tagged `sha256-<hex>` (the subject's
// digest) listing every manifest whose `subject` is that digest.
import { pullScope } from './auth';
import type { RegistryClient } from './client';
import { digestTag, sha256Digest } from './digest';
import { OciError, isOciError } from './errors';
import { OCI_INDEX, type Descriptor, type ImageIndex } from './media-types';

const apiKnown = new WeakMap<RegistryClient, Map<string, boolean>>();

function known(client: RegistryClient): Map<string, boolean> {
  let m = apiKnown.get(client);
  if (!m) apiKnown.set(client, (m = new Map()));
  return m;
}

function parseIndex(bytes: Uint8Array, where: string): ImageIndex {
  try {
    const idx = JSON.parse(new TextDecoder().decode(bytes)) as ImageIndex;
    if (!Array.isArray(idx.manifests)) throw new Error('no manifests');
    return idx;
  } catch {
    throw new OciError({ code: 'INVALID_RESPONSE', message: `${where} is not an OCI index` });
  }
}

function isIndexContentType(h: Headers): boolean {
  return h.get('content-type')?.split(';')[0]?.trim() === OCI_INDEX;
}

/** Asks the referrers API. Returns undefined when the registry has none (404 without an OCI index body). */
async function viaApi(client: RegistryClient, host: string, repository: string, digest: string, artifactType?: string): Promise<Descriptor[] | undefined> {
  if (known(client).get(host) === false) return undefined;
  const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
  const res = await client.transport.request({
    host,
    method: 'GET',
    path: `/v2/${repository}/referrers/${digest}${q}`,
    headers: { Accept: OCI_INDEX },
    scopes: [pullScope(repository)],
    repository,
    operation: 'list referrers',
    accept: [404, 400, 405],
  });
  if (res.status !== 200 && !isIndexContentType(res.headers)) {
    known(client).set(host, false);
    return undefined;
  }
  known(client).set(host, true);
  if (res.status !== 200) return [];
  const idx = parseIndex(res.body, `referrers of ${digest} on ${host}/${repository}`);
  const filtered = res.headers.get('oci-filters-applied')?.split(',').map((s) => s.trim()).includes('artifactType');
  return artifactType && !filtered ? idx.manifests.filter((d) => d.artifactType === artifactType) : idx.manifests;
}

const PROBE_DIGEST = `sha256:${'0'.repeat(64)}`;

/**
 * Whether `host` serves the referrers API; asked once per client and host (the answer of any
 * earlier referrers call counts), with a digest nothing refers to: a registry with the API
 * answers an empty index.
 */
export async function hasReferrersApi(client: RegistryClient, host: string, repository: string): Promise<boolean> {
  const cached = known(client).get(host);
  if (cached !== undefined) return cached;
  return (await viaApi(client, host, repository, PROBE_DIGEST)) !== undefined;
}

async function readFallbackIndex(client: RegistryClient, host: string, repository: string, digest: string): Promise<ImageIndex | undefined> {
  try {
    const m = await client.getManifest({ host, repository, tag: digestTag(digest) });
    return parseIndex(m.bytes, `referrers tag ${digestTag(digest)} on ${host}/${repository}`);
  } catch (e) {
    if (isOciError(e, 'MANIFEST_UNKNOWN') || isOciError(e, 'NAME_UNKNOWN')) return undefined;
    throw e;
  }
}

export async function listReferrers(client: RegistryClient, host: string, repository: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
  const api = await viaApi(client, host, repository, digest, artifactType);
  if (api) return api;
  const idx = await readFallbackIndex(client, host, repository, digest);
  const all = idx?.manifests ?? [];
  return artifactType ? all.filter((d) => d.artifactType === artifactType) : all;
}

/** The descriptor a referrers listing carries for a manifest: artifactType falls back to the config's media type. */
export function referrerDescriptor(bytes: Uint8Array, mediaType: string): { descriptor: Descriptor; subject: Descriptor } {
  const m = JSON.parse(new TextDecoder().decode(bytes)) as { artifactType?: string; config?: Descriptor; subject?: Descriptor; annotations?: Record<string, string> };
  if (!m.subject?.digest) throw new OciError({ code: 'MANIFEST_INVALID', message: 'referrer manifest has no subject' });
  const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
  const at = m.artifactType ?? m.config?.mediaType;
  if (at) descriptor.artifactType = at;
  if (m.annotations && Object.keys(m.annotations).length) descriptor.annotations = m.annotations;
  return { descriptor, subject: m.subject };
}

const MAX_FALLBACK_ROUNDS = 5;

export async function pushReferrerManifest(client: RegistryClient, host: string, repository: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: string; fallbackTag?: string }> {
  const { descriptor, subject } = referrerDescriptor(bytes, mediaType);
  const { digest, headers } = await client.putManifestDetailed({ host, repository, digest: descriptor.digest }, bytes, mediaType);
  // A registry with the referrers API confirms the subject it indexed.
  if (headers.get('oci-subject')) {
    known(client).set(host, true);
    return { digest };
  }
  if ((await viaApi(client, host, repository, subject.digest)) !== undefined) return { digest };

  const tag = digestTag(subject.digest);
  // Read-modify-write without conditional requests (distribution has none):
  // re-read after writing and repeat if a concurrent writer dropped our entry.
  for (let round = 0; round < MAX_FALLBACK_ROUNDS; round++) {
    const current = await readFallbackIndex(client, host, repository, subject.digest);
    if (current?.manifests.some((d) => d.digest === digest)) return { digest, fallbackTag: tag };
    const next: ImageIndex = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [...(current?.manifests ?? []).filter((d) => d.digest !== digest), descriptor],
    };
    await client.putManifest({ host, repository, tag }, new TextEncoder().encode(JSON.stringify(next)), OCI_INDEX);
  }
  const final = await readFallbackIndex(client, host, repository, subject.digest);
  if (final?.manifests.some((d) => d.digest === digest)) return { digest, fallbackTag: tag };
  throw new OciError({ code: 'SERVER_ERROR', retryable: true, registry: host, repository, message: `could not record referrer ${digest} in tag ${tag} on ${host}/${repository}: concurrent updates` });
}
