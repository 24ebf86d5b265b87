import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SigningError, keylessConfig, promotionStatement, signStatementKeyless, tokenProvider } from '../../../lib/signing';
import { DIGEST_A } from './helpers';

// A syntactically valid (unsigned) JWT: sigstore-js only reads its subject before calling Fulcio.
const TOKEN = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
  JSON.stringify({
    iss: 'https://issuer.example',
    sub: 'ci@example.com',
    email: 'ci@example.com',
    email_verified: true,
    aud: 'sigstore',
    exp: 4_102_444_800,
  }),
).toString('base64url')}.c2ln`;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const statement = promotionStatement({
  subjectName: 'r/a',
  digest: DIGEST_A,
  sourceRef: 's',
  destinationRefs: ['d'],
  runId: '1',
  builderId: 'b',
  time: new Date(0),
});

afterEach(() => {
  delete process.env.PROMOTER_TEST_OIDC;
});

describe('keylessConfig', () => {
  it('accepts URLs and a token source, with defaults', () => {
    const c = keylessConfig({ fulcioURL: 'https://fulcio.example', rekorURL: 'https://rekor.example', oidcTokenSource: 'env:TOKEN' });
    expect(c).toMatchObject({ fulcioURL: 'https://fulcio.example', timeoutMs: 10_000, retries: 0 });
    expect(keylessConfig({ fulcioURL: 'http://127.0.0.1:1', tsaURL: 'http://127.0.0.1:2', oidcTokenSource: 'file:/var/run/token' }).tsaURL).toBe(
      'http://127.0.0.1:2',
    );
  });

  it('rejects bad URLs, token sources, unknown keys and a config without any witness', () => {
    const bad = [
      { fulcioURL: 'not a url', rekorURL: 'https://r', oidcTokenSource: 'env:T' },
      { fulcioURL: 'ftp://f', rekorURL: 'https://r', oidcTokenSource: 'env:T' },
      { fulcioURL: 'https://f', rekorURL: 'https://r', oidcTokenSource: 'T' },
      { fulcioURL: 'https://f', oidcTokenSource: 'env:T' },
      { fulcioURL: 'https://f', rekorURL: 'https://r', oidcTokenSource: 'env:T', extra: 1 },
    ];
    for (const input of bad) {
      expect(() => keylessConfig(input as never), JSON.stringify(input)).toThrow(SigningError);
    }
    try {
      keylessConfig({ fulcioURL: 'https://f', oidcTokenSource: 'env:T' });
    } catch (e) {
      expect((e as SigningError).code).toBe('CONFIG_INVALID');
      expect((e as Error).message).toMatch(/rekorURL or tsaURL/);
    }
  });
});

describe('tokenProvider', () => {
  it('reads env and file tokens and never echoes a bad token', async () => {
    process.env.PROMOTER_TEST_OIDC = TOKEN;
    expect(await tokenProvider('env:PROMOTER_TEST_OIDC').getToken()).toBe(TOKEN);
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    writeFileSync(join(dir, 't'), `${TOKEN}\n`);
    expect(await tokenProvider(`file:${join(dir, 't')}`).getToken()).toBe(TOKEN);
    process.env.PROMOTER_TEST_OIDC = 'secret-not-a-jwt';
    await expect(tokenProvider('env:PROMOTER_TEST_OIDC').getToken()).rejects.toThrow(/not a JWT/);
    await tokenProvider('env:PROMOTER_TEST_OIDC')
      .getToken()
      .catch((e: Error) => expect(e.message).not.toContain('secret-not-a-jwt'));
    await expect(tokenProvider('env:PROMOTER_TEST_MISSING').getToken()).rejects.toMatchObject({ code: 'TOKEN_UNAVAILABLE', retryable: true });
    await expect(tokenProvider(`file:${join(dir, 'absent')}`).getToken()).rejects.toMatchObject({ code: 'TOKEN_UNAVAILABLE' });
  });
});

describe('signStatementKeyless', () => {
  it('reports an unreachable Fulcio as a retryable FULCIO_UNAVAILABLE error without the token', async () => {
    process.env.PROMOTER_TEST_OIDC = TOKEN;
    const port = await closedPort();
    const config = keylessConfig({
      fulcioURL: `http://127.0.0.1:${port}`,
      rekorURL: `http://127.0.0.1:${port}`,
      oidcTokenSource: 'env:PROMOTER_TEST_OIDC',
      timeoutMs: 2000,
    });
    const err = await signStatementKeyless(config, statement).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SigningError);
    expect(err).toMatchObject({ code: 'FULCIO_UNAVAILABLE', retryable: true });
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as Error).message).not.toContain(TOKEN.split('.')[1]!);
  });

  it('does not pass on sigstore-js messages that quote an unusable token', async () => {
    const noSubject = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"iss":"x","aud":"sigstore"}').toString('base64url')}.c2ln`;
    process.env.PROMOTER_TEST_OIDC = noSubject;
    const config = keylessConfig({ fulcioURL: 'http://127.0.0.1:9', rekorURL: 'http://127.0.0.1:9', oidcTokenSource: 'env:PROMOTER_TEST_OIDC' });
    const err = await signStatementKeyless(config, statement).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'TOKEN_UNAVAILABLE', retryable: false });
    expect((err as Error).message).not.toContain(noSubject.split('.')[1]!);
    expect((err as Error).cause).toBeUndefined();
  });

  it('reports a missing token as TOKEN_UNAVAILABLE before any network call', async () => {
    const config = keylessConfig({ fulcioURL: 'http://127.0.0.1:9', rekorURL: 'http://127.0.0.1:9', oidcTokenSource: 'env:PROMOTER_TEST_OIDC' });
    await expect(signStatementKeyless(config, statement)).rejects.toMatchObject({ code: 'TOKEN_UNAVAILABLE' });
  });
});
