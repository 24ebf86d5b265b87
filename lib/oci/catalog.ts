// The repositories a registry holds, by `GET /v2/_catalog` (distribution's extension of the OCI
// API, paginated with `n` and Link headers). Not every registry serves it (olareg, most public
// clouds): those answer 404, 405 or UNSUPPORTED, reported as a CatalogError ('unavailable') so the
// caller can ask for the repositories by name instead. Every answer is bounded: pages, entries.
import type { RegistryClient } from './client';
import { OciError, isOciError } from './errors';
import { parseNextLink } from './headers';

export interface CatalogLimits {
  /** Entries asked for per page (registries may answer with fewer and a Link header). */
  pageSize: number;
  /** Repositories read in all: past this the listing stops with CATALOG_TOO_LARGE. */
  maxRepositories: number;
}

export const CATALOG_DEFAULTS: CatalogLimits = { pageSize: 1000, maxRepositories: 100_000 };

/** The catalog cannot answer: not served, or more repositories than the limit allows. */
export class CatalogError extends Error {
  override name = 'CatalogError';
  constructor(
    readonly reason: 'unavailable' | 'too-large',
    readonly registry: string,
    message: string,
  ) {
    super(message);
  }
}

/** Every repository name the registry's catalog lists, in its order. */
export async function listRepositories(client: RegistryClient, host: string, limits: Partial<CatalogLimits> = {}): Promise<string[]> {
  const { pageSize, maxRepositories } = { ...CATALOG_DEFAULTS, ...limits };
  let path: string | undefined = `/v2/_catalog?n=${pageSize}`;
  const seen = new Set<string>();
  const out: string[] = [];
  while (path) {
    if (seen.has(path)) break; // a registry repeating a link must not loop us forever
    seen.add(path);
    let res;
    try {
      res = await client.transport.request({ host, method: 'GET', path, scopes: ['registry:catalog:*'], operation: 'list repositories' });
    } catch (e) {
      if (isOciError(e, 'NAME_UNKNOWN') || isOciError(e, 'UNSUPPORTED') || (e instanceof OciError && (e.status === 404 || e.status === 405))) {
        throw new CatalogError('unavailable', host, `${host} does not list its repositories (/v2/_catalog answered ${e.status ?? e.code})`);
      }
      throw e;
    }
    let page: { repositories?: unknown };
    try {
      page = JSON.parse(new TextDecoder().decode(res.body)) as { repositories?: unknown };
    } catch {
      throw new OciError({ code: 'INVALID_RESPONSE', retryable: false, registry: host, message: `${host}: /v2/_catalog did not answer JSON` });
    }
    const names = page.repositories ?? [];
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
      throw new OciError({ code: 'INVALID_RESPONSE', retryable: false, registry: host, message: `${host}: /v2/_catalog answered no list of repository names` });
    }
    out.push(...names);
    if (out.length > maxRepositories) {
      throw new CatalogError('too-large', host, `${host} lists more than ${maxRepositories} repositories`);
    }
    path = names.length === 0 ? undefined : parseNextLink(res.headers.get('link'), res.url);
  }
  return out;
}
