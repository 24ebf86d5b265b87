// Bearer tokens: cached per scope set until shortly before they expire, then dropped; bounded.
import { describe, expect, it } from 'vitest';
import { Authenticator, type TokenFetch } from '../../../lib/oci/auth';
import { StaticCredentialStore } from '../../support/static-credentials';

function setup(expiresIn: number | undefined, maxTokens?: number) {
  let now = 1_000_000;
  const asked: string[] = [];
  const tokenFetch: TokenFetch = async (url) => {
    asked.push(url.searchParams.getAll('scope').join(' '));
    return { status: 200, body: JSON.stringify({ token: `t${asked.length}`, ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}) }) };
  };
  const auth = new Authenticator({
    credentials: new StaticCredentialStore({}),
    tokenFetch,
    allowHttp: () => false,
    userAgent: 'test',
    now: () => now,
    ...(maxTokens ? { maxTokens } : {}),
  });
  auth.onUnauthorized('reg.example', [], [{ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg' } }]);
  return { auth, asked, advance: (ms: number) => (now += ms) };
}

describe('Authenticator tokens', () => {
  it('reuses a token until 10 s before it expires, then drops it and asks again', async () => {
    const { auth, asked, advance } = setup(300);
    expect(await auth.authorization('reg.example', ['repository:a:pull'])).toBe('Bearer t1');
    advance(289_000);
    expect(await auth.authorization('reg.example', ['repository:a:pull'])).toBe('Bearer t1');
    expect(auth.tokenCount).toBe(1);
    advance(2_000);
    expect(auth.tokenCount).toBe(0); // expired: no longer held
    expect(await auth.authorization('reg.example', ['repository:a:pull'])).toBe('Bearer t2');
    expect(asked).toEqual(['repository:a:pull', 'repository:a:pull']);
  });

  it('holds a token that claims to live forever for a day at most', async () => {
    const { auth, advance } = setup(10 ** 12);
    await auth.authorization('reg.example', ['repository:a:pull']);
    advance(24 * 3600_000);
    expect(auth.tokenCount).toBe(0);
  });

  it('keeps at most maxTokens, whatever the number of scope sets', async () => {
    const { auth, asked } = setup(3600, 100);
    for (let i = 0; i < 1000; i++) await auth.authorization('reg.example', [`repository:r${i}:pull`]);
    expect(auth.tokenCount).toBe(100);
    await auth.authorization('reg.example', ['repository:r999:pull']);
    await auth.authorization('reg.example', ['repository:r0:pull']);
    expect(asked).toHaveLength(1001);
  });
});
