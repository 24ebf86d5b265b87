// The identity token against the dev stack's real issuer and Fulcio: the token file the issuer keeps
// fresh, clear errors for expired and wrong-audience tokens (caught before Fulcio is asked), and
// Fulcio's own refusal of a token it cannot trust, reported as such. Plus the evidence a legacy
// keyless signature cannot do without: its timestamp.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  SigningError,
  identityClaims,
  signImageKeyless,
  signStatementKeyless,
  verifyKeylessLayer,
  cosignSignStatement,
  RFC3161_TIMESTAMP_ANNOTATION,
} from '../../../lib/signing';
import { keylessConfigOf, keylessStack, keylessTrustOf, mintToken, strangerToken } from '../../support/keyless';

const keyless = keylessStack();
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe.skipIf(!keyless)('keyless identity tokens against the dev stack', () => {
  const k = keyless!;
  const dir = mkdtempSync(join(tmpdir(), 'promoter-token-'));
  const withToken = (name: string, token: string) => {
    const file = join(dir, name);
    writeFileSync(file, token);
    return keylessConfigOf(k, `file:${file}`);
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as SigningError,
    );

  it('the issuer keeps a short-lived token for the stack identity in the token file', () => {
    const claims = identityClaims(readFileSync(k.tokenFile, 'utf8'), k.tokenFile);
    expect(claims).toMatchObject({ issuer: k.issuer, subject: k.identity, audience: ['sigstore'] });
    const left = claims.expiresAt.getTime() - Date.now();
    expect(left).toBeGreaterThan(60_000); // refreshed well before expiry
    expect(left).toBeLessThanOrEqual(600_000);
  });

  it('an expired token: TOKEN_EXPIRED naming the source, identity and expiry, retryable, without the token', async () => {
    const token = mintToken(k, { issuedAt: Math.floor(Date.now() / 1000) - 3600, ttlSeconds: 600 });
    const err = await failure(signStatementKeyless(withToken('expired', token), cosignSignStatement(DIGEST)));
    expect(err).toBeInstanceOf(SigningError);
    expect(err).toMatchObject({ code: 'TOKEN_EXPIRED', retryable: true });
    expect(err!.message).toMatch(new RegExp(`expired at .*${k.identity}|${k.identity}.* expired at`));
    expect(err!.message).toContain(join(dir, 'expired'));
    expect(err!.message).not.toContain(token.split('.')[1]!);
  });

  it('a token for another audience: TOKEN_REJECTED saying which audience Fulcio wants', async () => {
    const token = mintToken(k, { audience: 'registry.example.com' });
    const err = await failure(signImageKeyless(withToken('audience', token), { dockerReference: 'r/x', digest: DIGEST }, 'bundle'));
    expect(err).toMatchObject({ code: 'TOKEN_REJECTED', retryable: false });
    expect(err!.message).toMatch(/audience registry\.example\.com, not sigstore/);
  });

  it('a token Fulcio cannot trust (signed by a stranger) is refused by Fulcio, reported as TOKEN_REJECTED', async () => {
    const token = strangerToken(k);
    const err = await failure(signStatementKeyless(withToken('stranger', token), cosignSignStatement(DIGEST)));
    expect(err).toMatchObject({ code: 'TOKEN_REJECTED', retryable: false });
    expect(err!.message).toMatch(new RegExp(`Fulcio at ${k.fulcioURL.replace(/[.]/g, '\\.')} refused the OIDC token .*\\(HTTP 40[01]\\)`));
    expect(err!.message).not.toContain(token.split('.')[1]!);
  });

  it('a token whose email is not verified: TOKEN_REJECTED before Fulcio is asked', async () => {
    const err = await failure(signStatementKeyless(withToken('unverified', mintToken(k, { emailVerified: false })), cosignSignStatement(DIGEST)));
    expect(err).toMatchObject({ code: 'TOKEN_REJECTED' });
    expect(err!.message).toMatch(/email is not verified/);
  });

  it('a legacy keyless signature verifies only with its timestamp (the certificate lives minutes)', async () => {
    const { legacy } = await signImageKeyless(keylessConfigOf(k), { dockerReference: 'r/x', digest: DIGEST }, 'legacy');
    const annotations = legacy!.layer.descriptor.annotations!;
    const trust = keylessTrustOf(k);
    expect(verifyKeylessLayer(annotations, legacy!.layer.payload, trust)).toMatchObject({ signer: { subjectAlternativeName: k.identity, issuer: k.issuer } });
    const untimed = { ...annotations };
    delete untimed[RFC3161_TIMESTAMP_ANNOTATION];
    expect(verifyKeylessLayer(untimed, legacy!.layer.payload, trust).error).toMatch(/timestamp/i);
    expect(verifyKeylessLayer(annotations, Buffer.from('{"other":"payload"}'), trust).error).toBeDefined();
  });
});
