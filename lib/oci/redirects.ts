// Which redirects the client follows, and with what. A registry's answer never chooses where
// credentials go: a hop to another origin carries no Authorization, and once a chain has left the
// origin no later hop gets it back (a hop back cannot re-stamp the credential). Never from HTTPS
// to plain HTTP. Only reads follow redirects: a write that is redirected did not happen where it
// was meant to, so it is an error (a manifest PUT answered 307 is not a manifest written). The
// allowed-hosts check and the client-certificate rule apply to every hop in the exchange layer.
import type { Answer } from './exchange';
import { OciError } from './errors';

export const MAX_REDIRECTS = 5;

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

export interface RedirectState {
  /** Where the chain started. */
  origin: string;
  /** Hops followed so far. */
  hops: number;
  /** Some hop left the origin (or went to plain HTTP): no Authorization for the rest of the chain. */
  leftOrigin: boolean;
}

export function startChain(url: URL): RedirectState {
  return { origin: url.origin, hops: 0, leftOrigin: false };
}

export interface RedirectContext {
  registry: string;
  operation: string;
  method: string;
}

/**
 * The next hop of a redirect: its URL, its method (303 turns into GET) and whether it may carry
 * the Authorization of the first hop. Throws a REDIRECT_REFUSED or INSECURE OciError for a
 * redirect the client does not follow.
 */
export function nextHop(answer: Answer, state: RedirectState, ctx: RedirectContext): { url: URL; method: string; keepAuthorization: boolean } {
  const from = new URL(answer.url);
  const refuse = (why: string, code: 'REDIRECT_REFUSED' | 'INSECURE' = 'REDIRECT_REFUSED') =>
    new OciError({
      code,
      retryable: false,
      registry: ctx.registry,
      message: `${ctx.operation} on ${ctx.registry}: ${from.host} answered ${answer.status} ${why}`,
    });
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    throw refuse(`to a ${ctx.method}, a write; writes are never redirected (not followed, nothing was written)`);
  }
  const location = answer.headers.get('location');
  let url: URL;
  try {
    if (!location) throw new Error('no Location');
    url = new URL(location, from);
  } catch {
    throw refuse('without a usable Location');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse(`to ${url.protocol} URL; only HTTP(S) is followed`);
  if (from.protocol === 'https:' && url.protocol === 'http:') {
    throw refuse(`to ${url.origin}: refusing a redirect from HTTPS to plain HTTP`, 'INSECURE');
  }
  if (state.hops >= MAX_REDIRECTS) throw refuse(`to ${url.host} after ${MAX_REDIRECTS} redirects already; refusing more`);
  state.hops++;
  if (url.origin !== state.origin) state.leftOrigin = true;
  return { url, method: answer.status === 303 ? 'GET' : ctx.method, keepAuthorization: !state.leftOrigin };
}
