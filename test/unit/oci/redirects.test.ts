// Which redirects the client follows and which hops carry the first hop's credentials.
import { describe, expect, it } from 'vitest';
import type { Answer } from '../../../lib/oci/exchange';
import { MAX_REDIRECTS, nextHop, startChain } from '../../../lib/oci/redirects';

const answer = (url: string, status: number, location?: string): Answer => ({
  status,
  url,
  headers: new Headers(location ? { location } : {}),
  body: new Uint8Array(0),
});
const ctx = (method = 'GET') => ({ registry: 'reg.example', operation: `${method} blob`, method });

describe('nextHop', () => {
  it('follows a read to another host without credentials, and never gives them back later in the chain', () => {
    const chain = startChain(new URL('https://reg.example/v2/a/blobs/sha256:1'));
    const away = nextHop(answer('https://reg.example/v2/a/blobs/sha256:1', 307, 'https://storage.example/blob?sig=x'), chain, ctx());
    expect(away).toEqual({ url: new URL('https://storage.example/blob?sig=x'), method: 'GET', keepAuthorization: false });
    const back = nextHop(answer('https://storage.example/blob?sig=x', 302, 'https://reg.example/v2/a/blobs/sha256:1'), chain, ctx());
    expect(back.keepAuthorization).toBe(false);
  });

  it('keeps credentials on the same origin, resolves relative locations, and turns 303 into GET', () => {
    const chain = startChain(new URL('https://reg.example/v2/a/manifests/v1'));
    expect(nextHop(answer('https://reg.example/v2/a/manifests/v1', 301, '/v2/b/manifests/v1'), chain, ctx('HEAD'))).toEqual({
      url: new URL('https://reg.example/v2/b/manifests/v1'),
      method: 'HEAD',
      keepAuthorization: true,
    });
    expect(nextHop(answer('https://reg.example/v2/b/manifests/v1', 303, 'https://reg.example/x'), chain, ctx('HEAD')).method).toBe('GET');
  });

  it('never follows HTTPS to plain HTTP, even on the same host', () => {
    const chain = startChain(new URL('https://reg.example/v2/'));
    expect(() => nextHop(answer('https://reg.example/v2/', 302, 'http://reg.example/v2/'), chain, ctx())).toThrow(
      expect.objectContaining({
        code: 'INSECURE',
        retryable: false,
        message: 'GET blob on reg.example: reg.example answered 302 to http://reg.example: refusing a redirect from HTTPS to plain HTTP',
      }),
    );
  });

  it('never follows a write: a redirected PUT is an error, not a success', () => {
    for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
      const chain = startChain(new URL('https://reg.example/v2/a/manifests/v1'));
      expect(
        () => nextHop(answer('https://reg.example/v2/a/manifests/v1', 307, 'https://elsewhere.example/v2/a/manifests/v1'), chain, ctx(method)),
        method,
      ).toThrow(
        expect.objectContaining({
          code: 'REDIRECT_REFUSED',
          retryable: false,
          message: expect.stringContaining(`answered 307 to a ${method}, a write; writes are never redirected`),
        }),
      );
    }
  });

  it('refuses a chain past the limit, a missing Location and other schemes', () => {
    const chain = startChain(new URL('https://reg.example/0'));
    for (let i = 0; i < MAX_REDIRECTS; i++) nextHop(answer(`https://reg.example/${i}`, 302, `/${i + 1}`), chain, ctx());
    expect(() => nextHop(answer('https://reg.example/5', 302, '/6'), chain, ctx())).toThrow(
      expect.objectContaining({ code: 'REDIRECT_REFUSED', message: expect.stringContaining('after 5 redirects') }),
    );
    expect(() => nextHop(answer('https://reg.example/', 302), startChain(new URL('https://reg.example/')), ctx())).toThrow(/without a usable Location/);
    expect(() => nextHop(answer('https://reg.example/', 302, 'file:///etc/passwd'), startChain(new URL('https://reg.example/')), ctx())).toThrow(
      /only HTTP\(S\) is followed/,
    );
  });
});
