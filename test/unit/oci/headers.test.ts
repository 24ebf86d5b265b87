import { describe, expect, it } from 'vitest';
import { parseNextLink, parseWwwAuthenticate } from '../../../lib/oci/headers';
import { normaliseScopes } from '../../../lib/oci/auth';

describe('parseWwwAuthenticate', () => {
  it('parses a distribution Bearer challenge with commas inside quotes', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ]);
  });
  it('parses Basic and unquoted values, case-insensitively', () => {
    expect(parseWwwAuthenticate('Basic realm="promoter-production"')).toEqual([{ scheme: 'basic', params: { realm: 'promoter-production' } }]);
    expect(parseWwwAuthenticate('BEARER Realm=http://127.0.0.1:5005/token, Service=dev')).toEqual([
      { scheme: 'bearer', params: { realm: 'http://127.0.0.1:5005/token', service: 'dev' } },
    ]);
  });
  it('splits several challenges and keeps escaped quotes', () => {
    const got = parseWwwAuthenticate('Basic realm="a \\"quoted\\" realm", Bearer realm="https://t/x",error="insufficient_scope"');
    expect(got).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'https://t/x', error: 'insufficient_scope' } },
    ]);
  });
  it('returns nothing for an empty header', () => {
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});

describe('parseNextLink', () => {
  const base = 'http://127.0.0.1:5001/v2/a/tags/list?n=2';
  it('resolves a relative next link against the request URL', () => {
    expect(parseNextLink('</v2/a/tags/list?last=t2&n=2>; rel="next"', base)).toBe('http://127.0.0.1:5001/v2/a/tags/list?last=t2&n=2');
  });
  it('picks rel=next among several links and ignores others', () => {
    expect(parseNextLink('<https://x/prev?a,b>; rel="prev", <https://x/next?c>; rel=next', base)).toBe('https://x/next?c');
    expect(parseNextLink('<https://x/prev>; rel="prev"', base)).toBeUndefined();
    expect(parseNextLink(null, base)).toBeUndefined();
  });
});

describe('normaliseScopes', () => {
  it('merges actions per repository and sorts', () => {
    expect(normaliseScopes(['repository:b:pull', 'repository:a:push', 'repository:a:pull', 'repository:b:pull'])).toEqual([
      'repository:a:pull,push',
      'repository:b:pull',
    ]);
    expect(normaliseScopes(['repository:dst:pull,push repository:src:pull'])).toEqual(['repository:dst:pull,push', 'repository:src:pull']);
  });
});
