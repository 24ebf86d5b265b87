// The one vocabulary of references the whole promoter speaks:
//   RepositoryRef  a repository on a registry host ("127.0.0.1:5002" + "prod/app")
//   ImageRef       a repository plus a tag and/or a digest ("…/prod/app:v1@sha256:…")
//   DigestRef      an image pinned by digest (what is copied, signed and verified)
// and the grammars of digests and tags. The registry host is always explicit in promoter
// manifests; Docker Hub short names are normalised only so that familiar references do not break.

export interface RepositoryRef {
  /** "host[:port]" exactly as written in references: budgets, credentials and stats key by it. */
  host: string;
  /** Repository name on `host`, as used in /v2/<repository>/… */
  repository: string;
}

export interface ImageRef extends RepositoryRef {
  tag?: string;
  digest?: string;
}

export type DigestRef = RepositoryRef & { digest: string };

/** A content digest; the promoter only deals in sha256. */
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
/** A tag, as the OCI distribution spec defines it. */
export const TAG_RE = /^\w[\w.-]{0,127}$/;

export function assertDigest(digest: string): void {
  if (!DIGEST_RE.test(digest)) throw new ImageReferenceError(`not a sha256 digest: ${digest}`);
}

/**
 * "sha256:<hex>" -> "sha256-<hex>": the tag prefix of cosign's `.sig`/`.att` tags and the
 * OCI 1.1 referrers tag-schema fallback.
 */
export function digestTag(digest: string): string {
  assertDigest(digest);
  return digest.replace(':', '-');
}

/** "host/repository", the key a repository is known by in plans, records and maps. */
export const repositoryKey = (r: RepositoryRef): string => `${r.host}/${r.repository}`;
// distribution's repository name grammar: path components of lowercase
// alphanumerics joined by separators.
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const DOCKER_HUB = 'docker.io';
/** Other names of Docker Hub: one registry, spelled `docker.io` everywhere. */
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io']);

/**
 * The one spelling of a registry host, for every comparison and every key (plans, repository
 * keys, tag records): host names are case-insensitive, so lower case; the default HTTPS port
 * `:443` is dropped and other ports lose leading zeros; Docker Hub's aliases become `docker.io`.
 * `Reg.Example.com:443` and `reg.example.com` are one registry.
 */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  const bracket = lower.startsWith('[') ? lower.indexOf(']') : -1;
  const colon = bracket >= 0 ? (lower[bracket + 1] === ':' ? bracket + 1 : -1) : lower.lastIndexOf(':');
  let name = colon < 0 ? lower : lower.slice(0, colon);
  let port = colon < 0 ? '' : lower.slice(colon + 1);
  if (/^[0-9]+$/.test(port)) port = Number(port) === 443 ? '' : String(Number(port));
  if (port === '' && DOCKER_HUB_ALIASES.has(name)) name = DOCKER_HUB;
  return port === '' ? name : `${name}:${port}`;
}

/** A registry name (`host[:port][/path]`) with its host normalised (normalizeHost); the path is kept. */
export function normalizeRegistry(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? normalizeHost(name) : `${normalizeHost(name.slice(0, slash))}${name.slice(slash)}`;
}

class ImageReferenceError extends Error {
  override name = 'ImageReferenceError';
}

function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

export function parseReference(input: string): ImageRef {
  let rest = input.trim();
  if (rest === '') throw new ImageReferenceError('empty image reference');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new ImageReferenceError(`invalid digest in reference "${input}"`);
  }
  let host: string;
  let path: string;
  const slash = rest.indexOf('/');
  if (slash > 0 && looksLikeHost(rest.slice(0, slash))) {
    host = rest.slice(0, slash);
    path = rest.slice(slash + 1);
  } else {
    host = DOCKER_HUB;
    path = rest;
  }
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new ImageReferenceError(`invalid tag in reference "${input}"`);
  }
  if (DOCKER_HUB_ALIASES.has(host)) host = DOCKER_HUB;
  if (host === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (!REPO_RE.test(path)) throw new ImageReferenceError(`invalid repository name in reference "${input}"`);
  const ref: ImageRef = { host, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

export function formatReference(ref: ImageRef): string {
  let s = `${ref.host}/${ref.repository}`;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** The tag or digest used in a /manifests/<reference> URL: digest wins. */
export function manifestReference(ref: ImageRef): string {
  const r = ref.digest ?? ref.tag;
  if (!r) throw new ImageReferenceError(`reference ${formatReference(ref)} has neither tag nor digest`);
  // A digest may come from a registry's own answer (an index's children): one that is not a digest
  // would otherwise become part of a request path.
  if (ref.digest) assertDigest(ref.digest);
  return r;
}

/** The host to talk HTTP to: Docker Hub's API lives on a different name. */
export function apiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host;
}

/** Hostname without port, brackets kept off IPv6 literals. */
export function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i >= 0 ? host.slice(0, i) : host;
}

export function isLoopbackHost(host: string): boolean {
  const name = hostname(host).toLowerCase();
  if (name === 'localhost' || name === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
