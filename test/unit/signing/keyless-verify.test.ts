// Keyless (certificate) bundles verified against a trusted root, with a
// self-made Fulcio-like CA and an openssl RFC 3161 timestamp authority.
import { beforeAll, describe, expect, it } from 'vitest';
import { COSIGN_SIGN_PREDICATE_TYPE, buildDsseBundle, cosignSignStatement, verifyBundle, type SerializedBundle } from '../../../lib/signing';
import { DIGEST_A, DIGEST_B } from './helpers';
import { certificateSigner, makeKeylessPki, timestampWitness, type KeylessPki } from './pki';

const IDENTITY = { email: 'release@k8s.example', issuer: 'https://oidc.k8s.example' };

describe('verifyBundle, keyless', () => {
  let pki: KeylessPki;
  let bundle: SerializedBundle;
  const trust = () => ({
    trustedRoot: pki.trustedRoot,
    identities: [{ issuer: IDENTITY.issuer, subject: IDENTITY.email }],
    ctlogThreshold: 0,
    tlogThreshold: 0,
  });

  beforeAll(async () => {
    pki = makeKeylessPki(IDENTITY);
    bundle = await buildDsseBundle(certificateSigner(pki), [timestampWitness(pki)], cosignSignStatement(DIGEST_A));
  });

  it('accepts the certificate identity with a TSA timestamp and reports the signer', () => {
    expect(bundle.verificationMaterial.certificate).toBeDefined();
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
    const r = verifyBundle(bundle, { keyless: trust(), expectedDigest: DIGEST_A, predicateType: COSIGN_SIGN_PREDICATE_TYPE });
    expect(r.errors).toEqual([]);
    expect(r).toMatchObject({ ok: true, signer: { subjectAlternativeName: IDENTITY.email, issuer: IDENTITY.issuer } });
  });

  it('matches subject and issuer regular expressions, and tries each identity', () => {
    expect(
      verifyBundle(bundle, {
        keyless: { ...trust(), identities: [{ subjectRegExp: '^release@k8s\\.example$', issuerRegExp: '^https://oidc\\.k8s\\.[a-z]+$' }] },
      }).ok,
    ).toBe(true);
    expect(
      verifyBundle(bundle, {
        keyless: {
          ...trust(),
          identities: [
            { subject: 'other@x', issuer: IDENTITY.issuer },
            { subject: IDENTITY.email, issuer: IDENTITY.issuer },
          ],
        },
      }).ok,
    ).toBe(true);
  });

  it('rejects another subject, another issuer, another digest', () => {
    const wrongSubject = verifyBundle(bundle, { keyless: { ...trust(), identities: [{ issuer: IDENTITY.issuer, subject: 'attacker@evil.example' }] } });
    expect(wrongSubject.ok).toBe(false);
    expect(verifyBundle(bundle, { keyless: { ...trust(), identities: [{ issuer: 'https://accounts.evil.example', subject: IDENTITY.email }] } }).ok).toBe(
      false,
    );
    expect(verifyBundle(bundle, { keyless: { ...trust(), identities: [{ issuerRegExp: '^https://evil', subject: IDENTITY.email }] } }).ok).toBe(false);
    expect(verifyBundle(bundle, { keyless: trust(), expectedDigest: DIGEST_B }).ok).toBe(false);
  });

  it('a lookalike identity from the same CA does not pass for the real one, whatever the library does with a policy string', async () => {
    const real = 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com';
    const lookalike = makeKeylessPki({ email: 'krel-trust@k8s-releng-prodXiam.gserviceaccount.com.attacker.example', issuer: IDENTITY.issuer });
    const signed = await buildDsseBundle(certificateSigner(lookalike), [timestampWitness(lookalike)], cosignSignStatement(DIGEST_A));
    const policy = (identity: object) => ({ trustedRoot: lookalike.trustedRoot, identities: [identity], ctlogThreshold: 0, tlogThreshold: 0 });
    const exact = verifyBundle(signed, { keyless: policy({ issuer: IDENTITY.issuer, subject: real }) });
    expect(exact.ok).toBe(false);
    expect(exact.errors.join()).toContain('krel-trust@k8s-releng-prodXiam.gserviceaccount.com.attacker.example');
    // An unanchored pattern is refused outright, before it could match a part of the SAN.
    const unanchored = verifyBundle(signed, { keyless: policy({ issuer: IDENTITY.issuer, subjectRegExp: 'krel-trust@k8s-releng-prod' }) });
    expect(unanchored.ok).toBe(false);
    expect(unanchored.errors.join()).toMatch(/not anchored/);
    // The certificate itself is sound: its own identity passes.
    expect(
      verifyBundle(signed, { keyless: policy({ issuer: IDENTITY.issuer, subject: 'krel-trust@k8s-releng-prodXiam.gserviceaccount.com.attacker.example' }) }).ok,
    ).toBe(true);
  });

  it('rejects a certificate from a CA the trusted root does not hold', () => {
    const stranger = makeKeylessPki(IDENTITY);
    expect(verifyBundle(bundle, { keyless: { ...trust(), trustedRoot: stranger.trustedRoot } }).ok).toBe(false);
  });

  it('requires a verified timestamp: without one no chain would be checked', async () => {
    const untimed = await buildDsseBundle(certificateSigner(pki), [], cosignSignStatement(DIGEST_A));
    expect(verifyBundle(untimed, { keyless: trust() }).errors.join()).toMatch(/timestamp/);
    expect(verifyBundle(bundle, { keyless: { ...trust(), timestampThreshold: 0 } }).errors.join()).toMatch(/timestampThreshold >= 1/);
  });

  it('a tampered statement fails', () => {
    const forged = structuredClone(bundle);
    forged.dsseEnvelope!.payload = Buffer.from(JSON.stringify(cosignSignStatement(DIGEST_B))).toString('base64');
    expect(verifyBundle(forged, { keyless: trust(), expectedDigest: DIGEST_B }).ok).toBe(false);
  });

  it('a key-only policy does not accept a certificate bundle', () => {
    expect(verifyBundle(bundle, { keys: [] }).ok).toBe(false);
  });
});
