// Keyless signing for real, against the dev stack's Fulcio, Rekor v2, timestamp authority and OIDC
// issuer, with the real cosign CLI as the other side: what our library signs and attaches, cosign
// verifies by identity (and refuses for another identity); what cosign signs keyless, our verifier
// accepts by identity (and refuses when signed by another identity). Both signature formats.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, type DigestRef } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  PROMOTION_PREDICATE_TYPE,
  signatureSetOf,
  parseBundle,
  promotionStatement,
  signImageKeyless,
  signStatementKeyless,
  verifyBundle,
  type KeylessConfig,
} from '../../../lib/signing';
import { findCosign, runCosign } from '../../support/cosign';
import { signatureKit } from '../../support/signatures';
import { COSIGN_LEGACY_KEYLESS_VERIFY, cosignKeylessVerifyFlags, keylessConfigOf, keylessStack, keylessTrustOf, mintToken } from '../../support/keyless';
import { stack, uniqueName } from '../../support/stack-env';

const keyless = keylessStack();
const cosign = findCosign();
const OTHER = 'someone-else@promoter-dev.iam.example.com';

describe.skipIf(!keyless || !cosign)('keyless signing against the dev stack (Fulcio, Rekor v2, TSA), cosign on the other side', () => {
  const k = keyless!;
  const env = stack();
  const registry = env.registries.staging;
  const client = RegistryClient.fromDockerConfig({ configPath: env.dockerConfigFile });
  const kit = signatureKit(client);
  const store = kit.store;
  let config: KeylessConfig;

  const newImage = async (name: string): Promise<DigestRef & { ref: string }> => {
    const repository = uniqueName(`keyless/${name}`);
    const img = await pushRandomImage(client, registry, repository, { layers: 1, layerSize: 128 });
    return { host: registry, repository, digest: img.digest, ref: `${registry}/${repository}@${img.digest}` };
  };
  const cosignOk = (r: { code: number; stderr: string; command: string }) => expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
  const cosignRefuses = (r: { code: number; stderr: string; command: string }, why: RegExp) => {
    expect(r.code, `${r.command} should fail`).not.toBe(0);
    expect(r.stderr).toMatch(why);
  };

  beforeAll(() => {
    config = keylessConfigOf(k);
    expect(config).toMatchObject({ fulcioURL: k.fulcioURL, rekorURL: k.rekorURL, rekorApiVersion: 2, tsaURL: k.tsaURL });
  });

  describe('our signatures, cosign verifies', () => {
    it('both formats: a Fulcio certificate for the stack identity, a Rekor v2 entry and a timestamp; cosign verify passes for that identity only', async () => {
      const img = await newImage('ours');
      const signatures = await signImageKeyless(config, { dockerReference: `${img.host}/${img.repository}`, digest: img.digest });

      // The bundle: DSSE over cosign's sign/v1 statement, with all three kinds of evidence.
      const bundle = parseBundle(signatures.bundle!);
      expect(bundle.verificationMaterial.content.$case).toBe('certificate');
      expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
      // Rekor v2 logs a DSSE signature as a hashedrekord over the envelope's PAE (rekor-v2.ts).
      expect(bundle.verificationMaterial.tlogEntries[0]!.kindVersion).toMatchObject({ kind: 'hashedrekord', version: '0.0.2' });
      expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);
      // The legacy layer: what cosign writes, certificate, chain (the stack's CA) and timestamp.
      const annotations = signatures.legacy!.layer.descriptor.annotations!;
      expect(annotations['dev.sigstore.cosign/certificate']).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(annotations['dev.sigstore.cosign/chain']).toContain(
        readFileSync(`${k.trustedRootPath.replace(/trusted_root\.json$/, '')}fulcio/ca.pem`, 'utf8')
          .trim()
          .split('\n')[1],
      );
      expect(JSON.parse(annotations['dev.sigstore.cosign/rfc3161timestamp']!)).toHaveProperty('SignedRFC3161Timestamp');
      expect(signatures.legacy!.bundle.verificationMaterial.tlogEntries[0]).toMatchObject({ kindVersion: { kind: 'hashedrekord', version: '0.0.2' } });

      expect(await kit.write(signatureSetOf(img.digest, 'keyless', { layer: signatures.legacy!.layer, bundle: signatures.bundle! }), img)).toMatchObject({
        legacy: 'written',
        index: 'written',
      });

      const bundleOk = await runCosign(['verify', ...cosignKeylessVerifyFlags(k), img.ref]);
      cosignOk(bundleOk);
      expect(JSON.parse(bundleOk.stdout)[0].critical.type).toBe(COSIGN_SIGN_PREDICATE_TYPE);
      expect(bundleOk.stderr).toMatch(/transparency log was verified/);
      const legacyOk = await runCosign(['verify', ...cosignKeylessVerifyFlags(k), ...COSIGN_LEGACY_KEYLESS_VERIFY, img.ref]);
      cosignOk(legacyOk);
      expect(JSON.parse(legacyOk.stdout)[0]).toMatchObject({
        critical: { type: 'cosign container image signature', image: { 'docker-manifest-digest': img.digest } },
        optional: { Subject: k.identity },
      });

      cosignRefuses(await runCosign(['verify', ...cosignKeylessVerifyFlags(k, OTHER), img.ref]), /expected SAN value "someone-else@/);
      cosignRefuses(
        await runCosign(['verify', ...cosignKeylessVerifyFlags(k, OTHER), ...COSIGN_LEGACY_KEYLESS_VERIFY, img.ref]),
        /expected SAN value|no matching signatures/,
      );
      cosignRefuses(await runCosign(['verify', ...cosignKeylessVerifyFlags(k), '--certificate-oidc-issuer', 'https://accounts.google.com', img.ref]), /issuer/);

      // Our own verifier agrees, in both formats.
      const ours = await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k) });
      expect(ours.errors).toEqual([]);
      expect(ours).toMatchObject({ valid: true, formats: ['legacy', 'bundle'] });
      expect(ours.signers).toEqual(expect.arrayContaining([expect.objectContaining({ subjectAlternativeName: k.identity, issuer: k.issuer })]));
      expect((await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k, { subject: OTHER }) })).valid).toBe(false);
    });

    it('an in-toto statement signed keyless passes `cosign verify-attestation` for its type and identity only', async () => {
      const img = await newImage('attest');
      const statement = promotionStatement({
        subjectName: `${registry}/${img.repository}`,
        digest: img.digest,
        sourceRef: img.ref,
        destinationRefs: [img.ref],
        runId: 'run-keyless',
        builderId: 'https://promoter.k8s.io/worker',
        time: new Date(),
      });
      const bundle = await signStatementKeyless(config, statement);
      expect(verifyBundle(bundle, { keyless: keylessTrustOf(k), expectedDigest: img.digest, predicateType: PROMOTION_PREDICATE_TYPE }).ok).toBe(true);
      expect((await kit.attest(bundle, img)).index).toBe('written');

      const ok = await runCosign(['verify-attestation', '--type', PROMOTION_PREDICATE_TYPE, ...cosignKeylessVerifyFlags(k), img.ref]);
      cosignOk(ok);
      const payload = JSON.parse(Buffer.from(JSON.parse(ok.stdout.trim().split('\n')[0]!).payload, 'base64').toString());
      expect(payload).toMatchObject({ predicateType: PROMOTION_PREDICATE_TYPE, predicate: { run: { id: 'run-keyless' } } });
      cosignRefuses(
        await runCosign(['verify-attestation', '--type', PROMOTION_PREDICATE_TYPE, ...cosignKeylessVerifyFlags(k, OTHER), img.ref]),
        /expected SAN value/,
      );
      cosignRefuses(
        await runCosign(['verify-attestation', '--type', 'https://slsa.dev/provenance/v1', ...cosignKeylessVerifyFlags(k), img.ref]),
        /none of the attestations matched the predicate type|no matching attestations/,
      );
    });

    it('the token is read afresh for every signature: a token given in an environment variable works too', async () => {
      process.env.PROMOTER_TEST_KEYLESS_TOKEN = readFileSync(k.tokenFile, 'utf8');
      try {
        const img = await newImage('env-token');
        const signatures = await signImageKeyless(
          keylessConfigOf(k, 'env:PROMOTER_TEST_KEYLESS_TOKEN'),
          { dockerReference: `${img.host}/${img.repository}`, digest: img.digest },
          'bundle',
        );
        await kit.write(signatureSetOf(img.digest, 'keyless', { ...(signatures.bundle ? { bundle: signatures.bundle } : {}) }), img);
        cosignOk(await runCosign(['verify', ...cosignKeylessVerifyFlags(k), img.ref]));
      } finally {
        delete process.env.PROMOTER_TEST_KEYLESS_TOKEN;
      }
    });
  });

  describe('cosign signs keyless, our verifier checks the identity', () => {
    const cosignSign = (ref: string, token: string, legacy: boolean) =>
      runCosign(
        legacy
          ? // cosign signs the legacy format only through the Rekor v1 API: no log, the TSA timestamp is the evidence.
            [
              'sign',
              '--new-bundle-format=false',
              '--use-signing-config=false',
              '--tlog-upload=false',
              '--fulcio-url',
              k.fulcioURL,
              '--timestamp-server-url',
              k.tsaURL,
              '--identity-token',
              token,
              '--trusted-root',
              k.trustedRootPath,
              ref,
            ]
          : ['sign', '--identity-token', token, '--signing-config', k.signingConfigPath, '--trusted-root', k.trustedRootPath, ref],
      );

    it('bundle format (cosign v3 default): accepted for the stack identity, also by subject pattern; refused for another', async () => {
      const img = await newImage('cosign-bundle');
      cosignOk(await cosignSign(img.ref, readFileSync(k.tokenFile, 'utf8'), false));
      const found = await store.findSignatures(img);
      expect(found.bundles).toHaveLength(1);
      const v = await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k) }, found);
      expect(v.errors).toEqual([]);
      expect(v).toMatchObject({ valid: true, formats: ['bundle'], signers: [{ subjectAlternativeName: k.identity, issuer: k.issuer }] });
      expect(
        (await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k, { subjectRegExp: '^promoter@promoter-dev\\.iam\\.example\\.com$' }) }, found))
          .valid,
      ).toBe(true);
      const other = await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k, { subject: OTHER }) }, found);
      expect(other.valid).toBe(false);
      expect(other.errors.join('\n')).toMatch(/someone-else@/);
      expect((await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k, { issuer: 'https://accounts.google.com' }) }, found)).valid).toBe(false);
    });

    it('legacy .sig: accepted for the stack identity, refused for another', async () => {
      const img = await newImage('cosign-legacy');
      cosignOk(await cosignSign(img.ref, readFileSync(k.tokenFile, 'utf8'), true));
      const found = await store.findSignatures(img);
      expect(found.signature).toBeDefined();
      const v = await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k) }, found);
      expect(v.errors).toEqual([]);
      expect(v).toMatchObject({ valid: true, formats: ['legacy'], signers: [{ subjectAlternativeName: k.identity, issuer: k.issuer }] });
      expect((await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k, { subject: OTHER }) }, found)).valid).toBe(false);
    });

    it('signed by another identity of the same issuer: our verifier refuses it for the promoter identity, in both formats', async () => {
      const img = await newImage('cosign-other');
      const token = mintToken(k, { email: OTHER });
      cosignOk(await cosignSign(img.ref, token, false));
      cosignOk(await cosignSign(img.ref, token, true));
      const found = await store.findSignatures(img);
      const v = await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k) }, found);
      expect(v.valid).toBe(false);
      expect(v.errors.join('\n')).toMatch(/someone-else@/);
      // ... and accepts it for the identity that did sign.
      expect(await store.verifyImageSignatures(img, { keyless: keylessTrustOf(k, { subject: OTHER }) }, found)).toMatchObject({
        valid: true,
        formats: ['legacy', 'bundle'],
      });
    });
  });
});
