// OCI 1.1 referrers: the referrers API where a registry has it, otherwise the tag-schema fallback,
// an OCI index tagged `sha256-<hex>` (the subject's digest) listing every manifest whose `subject`
// is that digest. Which of the two a host speaks is learnt on first contact and kept per host.
import { pullScope } from './auth';
import type { RegistryClient } from './client';
import { sha256Digest } from './digest';
import { OciError, isOciError } from './errors';
import { OCI_INDEX, type Descriptor, type ImageIndex } from './media-types';
import { assertDigest, digestTag, type RepositoryRef } from './reference';
import { registryTag, updateSharedTag, type SharedTagOptions, type SharedTagResult, type SharedTagUpdate } from './shared-tag';

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

/** The descriptor a referrers listing carries for a manifest: artifactType falls back to the config's media type. */
export function referrerDescriptor(bytes: Uint8Array, mediaType: string): { descriptor: Descriptor; subject: Descriptor } {
  const m = JSON.parse(new TextDecoder().decode(bytes)) as {
    artifactType?: string;
    config?: Descriptor;
    subject?: Descriptor;
    annotations?: Record<string, string>;
  };
  if (!m.subject?.digest) throw new OciError({ code: 'MANIFEST_INVALID', message: 'referrer manifest has no subject' });
  const descriptor: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
  const at = m.artifactType ?? m.config?.mediaType;
  if (at) descriptor.artifactType = at;
  if (m.annotations && Object.keys(m.annotations).length) descriptor.annotations = m.annotations;
  return { descriptor, subject: m.subject };
}

/**
 * The fallback index with `added` listed (the one implementation of that index's rules):
 * undefined when every descriptor is already listed, so the caller writes nothing.
 */
export function withReferrers(current: ImageIndex | undefined, added: Descriptor[]): ImageIndex | undefined {
  const listed = new Set((current?.manifests ?? []).map((d) => d.digest));
  const missing = added.filter((d) => !listed.has(d.digest));
  if (missing.length === 0 && current) return undefined;
  return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...(current?.manifests ?? []), ...missing] };
}

/**
 * Our entries for a fallback index that others update too (./shared-tag.ts): merged into what the
 * tag holds when it is read, every entry already there kept, none listed twice.
 */
export function fallbackIndexUpdate(entries: Descriptor[], where: string): SharedTagUpdate {
  return {
    merge(current) {
      const next = withReferrers(current && parseIndex(current.bytes, where), entries);
      if (!next) return undefined;
      const bytes = new TextEncoder().encode(JSON.stringify(next));
      return { bytes, digest: sha256Digest(bytes), mediaType: OCI_INDEX };
    },
  };
}

const PROBE_DIGEST = `sha256:${'0'.repeat(64)}`;

export class Referrers {
  /** host -> whether it serves the referrers API (absent: not asked yet). */
  private readonly api = new Map<string, boolean>();

  constructor(private readonly client: RegistryClient) {}

  /** Whether `host` is known to serve the referrers API (undefined: not learnt yet). */
  servesApi(host: string): boolean | undefined {
    return this.api.get(host);
  }

  /**
   * Whether the registry of `repo` serves the referrers API: asked once per host (one request, with
   * a digest nothing refers to unless one is given: a registry with the API answers an empty index),
   * then remembered.
   */
  async hasApi(repo: RepositoryRef, subjectDigest = PROBE_DIGEST): Promise<boolean> {
    const known = this.api.get(repo.host);
    if (known !== undefined) return known;
    return (await this.viaApi(repo, subjectDigest)) !== undefined;
  }

  /** A manifest PUT answered with OCI-Subject: the registry indexed the subject itself (referrers API). */
  noteSubjectHeader(host: string, headers: Headers): boolean {
    if (!headers.get('oci-subject')) return false;
    this.api.set(host, true);
    return true;
  }

  /** The fallback index of `subjectDigest` in `repo`, or undefined when there is none. */
  fallbackIndex(repo: RepositoryRef, subjectDigest: string): Promise<ImageIndex | undefined> {
    return this.readFallbackIndex(repo, subjectDigest);
  }

  /** Referrers of a manifest: the referrers API, or the `sha256-<hex>` tag index where the API is absent. */
  async list(repo: RepositoryRef, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const api = await this.viaApi(repo, digest, artifactType);
    if (api) return api;
    const idx = await this.readFallbackIndex(repo, digest);
    const all = idx?.manifests ?? [];
    return artifactType ? all.filter((d) => d.artifactType === artifactType) : all;
  }

  /** Put a manifest with a `subject`, keeping the fallback tag index up to date when the registry has no referrers API. */
  async push(repo: RepositoryRef, bytes: Uint8Array, mediaType: string): Promise<{ digest: string; fallbackTag?: string }> {
    const { descriptor, subject } = referrerDescriptor(bytes, mediaType);
    const { digest, headers } = await this.client.putManifestDetailed(
      { host: repo.host, repository: repo.repository, digest: descriptor.digest },
      bytes,
      mediaType,
    );
    // A registry with the referrers API confirms the subject it indexed.
    if (this.noteSubjectHeader(repo.host, headers)) return { digest };
    if ((await this.viaApi(repo, subject.digest)) !== undefined) return { digest };

    const tag = digestTag(subject.digest);
    await this.addToFallbackIndex(repo, subject.digest, [descriptor]);
    return { digest, fallbackTag: tag };
  }

  /**
   * Lists `entries` in the fallback index of `subjectDigest`, keeping every entry somebody else
   * put there, even between our read and our write (./shared-tag.ts).
   */
  addToFallbackIndex(repo: RepositoryRef, subjectDigest: string, entries: Descriptor[], opts?: SharedTagOptions): Promise<SharedTagResult> {
    const tag = registryTag(this.client, repo, digestTag(subjectDigest));
    return updateSharedTag(tag, fallbackIndexUpdate(entries, `referrers tag ${tag.where}`), opts);
  }

  /** Asks the referrers API. Returns undefined when the registry has none (404 without an OCI index body). */
  private async viaApi(repo: RepositoryRef, digest: string, artifactType?: string): Promise<Descriptor[] | undefined> {
    const { host, repository } = repo;
    if (this.api.get(host) === false) return undefined;
    assertDigest(digest); // it may come from a registry's answer, and goes into the path
    const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const res = await this.client.transport.request({
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
      this.api.set(host, false);
      return undefined;
    }
    this.api.set(host, true);
    if (res.status !== 200) return [];
    const idx = parseIndex(res.body, `referrers of ${digest} on ${host}/${repository}`);
    const filtered = res.headers
      .get('oci-filters-applied')
      ?.split(',')
      .map((s) => s.trim())
      .includes('artifactType');
    return artifactType && !filtered ? idx.manifests.filter((d) => d.artifactType === artifactType) : idx.manifests;
  }

  private async readFallbackIndex(repo: RepositoryRef, digest: string): Promise<ImageIndex | undefined> {
    try {
      // Host and repository only: `repo` may be a DigestRef, and a digest would win over the tag.
      const m = await this.client.getManifest({ host: repo.host, repository: repo.repository, tag: digestTag(digest) });
      return parseIndex(m.bytes, `referrers tag ${digestTag(digest)} on ${repo.host}/${repo.repository}`);
    } catch (e) {
      if (isOciError(e, 'MANIFEST_UNKNOWN') || isOciError(e, 'NAME_UNKNOWN')) return undefined;
      throw e;
    }
  }
}
