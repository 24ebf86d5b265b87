// RegistryClient: the OCI distribution API calls promoter needs, on top of
// the Transport (auth, budgets, retries). Every digest we are handed back is
// checked against the bytes we received.
import { pullScope, pushScope } from './auth';
import { OCI_DEFAULTS } from './defaults';
import { DockerConfigCredentialStore } from './credentials';
import { sha256Digest } from './digest';
import { OciError, isOciError } from './errors';
import { parseNextLink } from './headers';
import { MANIFEST_ACCEPT } from './media-types';
import { formatReference, manifestReference, parseReference, type ImageRef } from './reference';
import { Transport, type RequestStats, type TransportOptions } from './transport';
import { cancelUpload, DEFAULT_UPLOAD, startUpload, uploadBlob, type UploadOptions } from './upload';

export interface RegistryClientOptions extends TransportOptions {
  upload?: Partial<UploadOptions>;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

/** A manifest PUT that applies only to the tag as it was read: at this digest, or absent. */
export type ManifestCondition = { ifMatch: string } | { ifNoneMatch: '*' };

function toRef(ref: ImageRef | string): ImageRef {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

function mediaTypeOf(headers: Headers, bytes?: Uint8Array): string {
  const ct = headers.get('content-type')?.split(';')[0]?.trim();
  if (ct && ct !== 'application/json' && ct !== 'text/plain') return ct;
  if (bytes) {
    try {
      const mt = (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown }).mediaType;
      if (typeof mt === 'string') return mt;
    } catch {
      // fall through
    }
  }
  return ct ?? 'application/octet-stream';
}

/** A manifest read by tag or digest, with every Accept type and a pull scope. */
function manifestRead(ref: ImageRef, method: 'HEAD' | 'GET') {
  return {
    host: ref.host,
    method,
    path: `/v2/${ref.repository}/manifests/${manifestReference(ref)}`,
    headers: { Accept: MANIFEST_ACCEPT },
    scopes: [pullScope(ref.repository)],
    repository: ref.repository,
    operation: `${method} manifest`,
  };
}

/** A blob read by digest with a pull scope. */
function blobRead(host: string, repository: string, digest: string, method: 'HEAD' | 'GET') {
  return { host, method, path: `/v2/${repository}/blobs/${digest}`, scopes: [pullScope(repository)], repository, operation: `${method} blob` };
}

function digestMismatch(ref: ImageRef, what: string): OciError {
  return new OciError({
    code: 'DIGEST_MISMATCH',
    retryable: false,
    registry: ref.host,
    repository: ref.repository,
    message: `${formatReference(ref)}: ${what}`,
  });
}

function tagListTooLarge(host: string, repository: string, what: string): OciError {
  return new OciError({
    code: 'TOO_LARGE',
    retryable: false,
    registry: host,
    repository,
    message: `list tags on ${host}/${repository}: ${what}, past the client's limit; refused`,
  });
}

function parseTagPage(body: Uint8Array, host: string, repository: string): string[] {
  let page: { tags?: unknown };
  try {
    page = JSON.parse(new TextDecoder().decode(body)) as { tags?: unknown };
  } catch {
    throw new OciError({ code: 'INVALID_RESPONSE', registry: host, repository, message: `list tags on ${host}/${repository}: the answer is not JSON` });
  }
  const tags = page?.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
    throw new OciError({
      code: 'INVALID_RESPONSE',
      registry: host,
      repository,
      message: `list tags on ${host}/${repository}: "tags" is not a list of strings`,
    });
  }
  return tags;
}

/** Sends of one manifest PUT that a registry refused as damaged (DIGEST_INVALID). */
const MANIFEST_PUT_ATTEMPTS = 3;

export class RegistryClient {
  readonly transport: Transport;
  readonly uploadOptions: UploadOptions;

  constructor(opts: RegistryClientOptions = {}) {
    this.transport = new Transport(opts);
    this.uploadOptions = { ...DEFAULT_UPLOAD, ...opts.upload };
  }

  /** A client with credentials from $DOCKER_CONFIG/config.json (or ~/.docker/config.json). */
  static fromDockerConfig(opts: Omit<RegistryClientOptions, 'credentials'> & { configPath?: string } = {}): RegistryClient {
    const { configPath, ...rest } = opts;
    return new RegistryClient({ ...rest, credentials: new DockerConfigCredentialStore(configPath ? { path: configPath } : {}) });
  }

  /** Requests sent per host and method since construction. */
  stats(): RequestStats {
    return this.transport.stats();
  }

  /** GET /v2/ with auth: proves the registry speaks the API and our credentials work. */
  async ping(host: string): Promise<void> {
    await this.transport.request({ host, method: 'GET', path: '/v2/', scopes: [], operation: 'ping' });
  }

  async headManifest(refIn: ImageRef | string): Promise<ManifestHead | undefined> {
    const ref = toRef(refIn);
    const res = await this.transport.request({ ...manifestRead(ref, 'HEAD'), accept: [404] });
    if (res.status === 404) return undefined;
    const headerDigest = res.headers.get('docker-content-digest') ?? undefined;
    const size = Number(res.headers.get('content-length') ?? NaN);
    if (!headerDigest || Number.isNaN(size)) {
      // Some registries omit the digest on HEAD: fall back to a verified GET.
      const m = await this.getManifest(ref);
      return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    }
    if (ref.digest && headerDigest !== ref.digest) throw digestMismatch(ref, `registry reports digest ${headerDigest}`);
    return { digest: headerDigest, mediaType: mediaTypeOf(res.headers), size };
  }

  /** GET a manifest; the digest returned is always computed from the bytes (and checked against the request/registry). */
  async getManifest(refIn: ImageRef | string): Promise<Manifest> {
    const ref = toRef(refIn);
    const res = await this.transport.request(manifestRead(ref, 'GET'));
    const digest = sha256Digest(res.body);
    if (ref.digest && digest !== ref.digest) throw digestMismatch(ref, `received manifest hashes to ${digest}`);
    const claimed = res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) throw digestMismatch(ref, `registry claims ${claimed} but the bytes hash to ${digest}`);
    return { digest, mediaType: mediaTypeOf(res.headers, res.body), bytes: res.body };
  }

  /** PUT manifest bytes under a tag or digest; returns the digest, verified against the registry's. */
  async putManifest(refIn: ImageRef | string, bytes: Uint8Array, mediaType: string): Promise<string> {
    return (await this.putManifestDetailed(refIn, bytes, mediaType)).digest;
  }

  /**
   * `condition`: a conditional write of a tag (If-Match: the digest it was read at; If-None-Match: *
   * when it was absent). A registry that honours it answers 412 when another writer got there
   * first: a PRECONDITION_FAILED error, nothing written. One that ignores it just writes.
   */
  async putManifestDetailed(
    refIn: ImageRef | string,
    bytes: Uint8Array,
    mediaType: string,
    condition?: ManifestCondition,
  ): Promise<{ digest: string; headers: Headers }> {
    const ref = toRef(refIn);
    const digest = sha256Digest(bytes);
    if (ref.digest && ref.digest !== digest) throw digestMismatch(ref, `manifest bytes hash to ${digest}`);
    const conditional: Record<string, string> = !condition ? {} : 'ifMatch' in condition ? { 'If-Match': `"${condition.ifMatch}"` } : { 'If-None-Match': '*' };
    const put = async () => {
      const res = await this.transport.request({
        host: ref.host,
        method: 'PUT',
        path: `/v2/${ref.repository}/manifests/${ref.tag && !ref.digest ? ref.tag : digest}`,
        headers: { 'Content-Type': mediaType, ...conditional },
        body: bytes,
        scopes: [pushScope(ref.repository)],
        repository: ref.repository,
        operation: 'PUT manifest',
        ...(condition ? { accept: [412] } : {}),
      });
      if (res.status === 412) {
        const where = `${ref.host}/${ref.repository}:${ref.tag ?? digest}`;
        throw new OciError({
          code: 'PRECONDITION_FAILED',
          status: 412,
          retryable: true,
          registry: ref.host,
          repository: ref.repository,
          message: `${where} changed since it was read: nothing written`,
        });
      }
      return res;
    };
    // The bytes hash to the digest (checked above): a registry that says they do not got them
    // damaged on the way (seen under heavy load). Sending them again is safe: a manifest is
    // stored under its digest, whole or not at all.
    let res;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await put();
        break;
      } catch (err) {
        if (!isOciError(err, 'DIGEST_INVALID') || attempt >= MANIFEST_PUT_ATTEMPTS) throw err;
      }
    }
    const claimed = res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) throw digestMismatch(ref, `registry stored ${claimed} for bytes hashing to ${digest}`);
    return { digest, headers: res.headers };
  }

  /** Delete a manifest (by digest; a tag is resolved first). Returns false when it was not there. */
  async deleteManifest(refIn: ImageRef | string): Promise<boolean> {
    const ref = toRef(refIn);
    let digest = ref.digest;
    if (!digest) {
      const head = await this.headManifest(ref);
      if (!head) return false;
      digest = head.digest;
    }
    const res = await this.transport.request({
      host: ref.host,
      method: 'DELETE',
      path: `/v2/${ref.repository}/manifests/${digest}`,
      scopes: [`repository:${ref.repository}:delete`, pushScope(ref.repository)],
      repository: ref.repository,
      operation: 'DELETE manifest',
      accept: [404],
    });
    return res.status !== 404;
  }

  /**
   * All tags of a repository, following Link pagination; [] when the repository does not exist.
   * Bounded: at most readLimits.tagPages pages and readLimits.tagListBytes bytes in all (TOO_LARGE past either).
   */
  async listTags(host: string, repository: string, opts: { pageSize?: number } = {}): Promise<string[]> {
    const pageSize = opts.pageSize ?? OCI_DEFAULTS.tagsPageSize;
    const { tagPages, tagListBytes } = this.transport.readLimits;
    let path: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
    const tags: string[] = [];
    const seen = new Set<string>();
    let bytes = 0;
    while (path) {
      if (seen.has(path)) break; // a registry repeating a link must not loop us forever
      if (seen.size >= tagPages) throw tagListTooLarge(host, repository, `more than ${tagPages} pages`);
      seen.add(path);
      let res;
      try {
        const maxBodyBytes = tagListBytes - bytes;
        res = await this.transport.request({ host, method: 'GET', path, scopes: [pullScope(repository)], repository, operation: 'list tags', maxBodyBytes });
      } catch (e) {
        if (isOciError(e, 'NAME_UNKNOWN')) return [];
        if (isOciError(e, 'TOO_LARGE') && seen.size > 1) throw tagListTooLarge(host, repository, `more than ${tagListBytes} bytes over ${seen.size} pages`);
        throw e;
      }
      bytes += res.body.length;
      tags.push(...parseTagPage(res.body, host, repository));
      path = parseNextLink(res.headers.get('link'), res.url);
    }
    return tags;
  }

  /** Size of a blob in a repository, or undefined when absent. */
  async headBlob(host: string, repository: string, digest: string): Promise<number | undefined> {
    const res = await this.transport.request({ ...blobRead(host, repository, digest, 'HEAD'), accept: [404] });
    if (res.status === 404) return undefined;
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** A blob's content as a stream (redirects followed). The reader must verify it; uploadBlob does. */
  async getBlobStream(host: string, repository: string, digest: string): Promise<{ stream: ReadableStream<Uint8Array>; size: number | undefined }> {
    const res = await this.transport.requestStream({ ...blobRead(host, repository, digest, 'GET'), redirect: 'follow' });
    const len = res.headers.get('content-length');
    return { stream: res.stream, size: len === null ? undefined : Number(len) };
  }

  /** A small blob (config, signature payload) read whole (at most `maxBytes`, default readLimits.blobBytes) and verified. */
  async getBlob(host: string, repository: string, digest: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const maxBodyBytes = opts.maxBytes ?? this.transport.readLimits.blobBytes;
    const res = await this.transport.request({ ...blobRead(host, repository, digest, 'GET'), maxBodyBytes });
    const got = sha256Digest(res.body);
    if (got !== digest)
      throw new OciError({
        code: 'DIGEST_MISMATCH',
        retryable: false,
        registry: host,
        repository,
        message: `blob ${digest} from ${host}/${repository} hashes to ${got}`,
      });
    return res.body;
  }

  /** Upload a blob with known digest/size from memory or a stream (skips nothing; see pushBlob). Returns bytes sent. */
  async uploadBlob(
    host: string,
    repository: string,
    desc: { digest: string; size: number },
    source: Uint8Array | ReadableStream<Uint8Array>,
    location?: string,
  ): Promise<number> {
    return uploadBlob(this.transport, { host, repository, digest: desc.digest, size: desc.size }, source, this.uploadOptions, location);
  }

  /** Push in-memory bytes as a blob unless already present; returns its descriptor fields. */
  async pushBlob(host: string, repository: string, bytes: Uint8Array): Promise<{ digest: string; size: number; uploaded: boolean }> {
    const digest = sha256Digest(bytes);
    if ((await this.headBlob(host, repository, digest)) !== undefined) return { digest, size: bytes.length, uploaded: false };
    await this.uploadBlob(host, repository, { digest, size: bytes.length }, bytes);
    return { digest, size: bytes.length, uploaded: true };
  }

  /**
   * Cross-repository mount on one registry: true when mounted (201). On 202 the
   * registry opened an upload session instead; it is cancelled here (copyImage
   * uses mountOrStartUpload to reuse it).
   */
  async mountBlob(host: string, dstRepository: string, digest: string, fromRepository: string): Promise<boolean> {
    const r = await this.mountOrStartUpload(host, dstRepository, digest, fromRepository);
    if (r.mounted) return true;
    await cancelUpload(this.transport, host, dstRepository, r.location);
    return false;
  }

  async mountOrStartUpload(host: string, dstRepository: string, digest: string, fromRepository: string) {
    return startUpload(this.transport, host, dstRepository, { digest, from: fromRepository });
  }
}
