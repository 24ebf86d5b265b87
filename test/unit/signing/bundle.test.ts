import { describe, expect, it } from 'vitest';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  OCI_INDEX,
  PROMOTION_PREDICATE_TYPE,
  SIGSTORE_BUNDLE_V03,
  buildBundleReferrer,
  loadSigningKey,
  loadVerificationKeys,
  promotionStatement,
  sha256Digest,
  signDsseBundle,
  signImageBundle,
  verifyBundle,
} from '../../../lib/signing';
import { referrerDescriptor, withReferrers } from '../../../lib/oci';
import { DIGEST_A, DIGEST_B, fixture, fixtureDigest, p256Pair, signMessageBundle } from './helpers';

const key = loadSigningKey({ pem: p256Pair().privatePem });
const keys = loadVerificationKeys([key.publicKeyPem]);
const otherKeys = loadVerificationKeys([p256Pair().publicPem]);

const statement = promotionStatement({
  subjectName: 'registry.example/prod/app',
  digest: DIGEST_A,
  sourceRef: `staging.example/app@${DIGEST_A}`,
  destinationRefs: [`registry.example/prod/app@${DIGEST_A}`, `mirror.example/prod/app@${DIGEST_A}`],
  runId: 'run-1',
  builderId: 'https://promoter.k8s.io/worker',
  time: new Date('2026-01-02T03:04:05Z'),
});

describe('promotionStatement', () => {
  it('is an in-toto Statement v1 with the promotion predicate', () => {
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'registry.example/prod/app', digest: { sha256: 'a'.repeat(64) } }],
      predicateType: PROMOTION_PREDICATE_TYPE,
      predicate: {
        source: { ref: `staging.example/app@${DIGEST_A}` },
        destinations: [{ ref: `registry.example/prod/app@${DIGEST_A}` }, { ref: `mirror.example/prod/app@${DIGEST_A}` }],
        run: { id: 'run-1' },
        builder: { id: 'https://promoter.k8s.io/worker' },
        promotedAt: '2026-01-02T03:04:05.000Z',
      },
    });
  });
});

describe('signDsseBundle', () => {
  it('produces a v0.3 bundle with a public key hint, no tlog entries, and an in-toto DSSE payload', async () => {
    const bundle = await signDsseBundle(key, statement);
    expect(bundle.mediaType).toBe(SIGSTORE_BUNDLE_V03);
    expect(bundle.verificationMaterial.publicKey?.hint).toBe(key.keyHint);
    expect(bundle.verificationMaterial.tlogEntries ?? []).toEqual([]); // protobuf JSON omits empty lists
    expect(bundle.dsseEnvelope?.payloadType).toBe('application/vnd.in-toto+json');
    expect(JSON.parse(Buffer.from(bundle.dsseEnvelope!.payload, 'base64').toString())).toEqual(statement);
    // cosign skips DSSE signatures whose keyid differs from its own key id: write none, like cosign
    expect(bundle.dsseEnvelope!.signatures.map((s) => Object.keys(s))).toEqual([['sig']]);
  });

  it('verifies with the key, expected digest and predicate type; fails otherwise', async () => {
    const bundle = await signDsseBundle(key, statement);
    const ok = verifyBundle(bundle, { keys, expectedDigest: DIGEST_A, predicateType: PROMOTION_PREDICATE_TYPE });
    expect(ok).toMatchObject({ ok: true, signer: { keyHint: key.keyHint }, predicateType: PROMOTION_PREDICATE_TYPE, errors: [] });
    expect(verifyBundle(bundle, { keys: otherKeys, expectedDigest: DIGEST_A }).ok).toBe(false);
    expect(verifyBundle(bundle, { keys, expectedDigest: DIGEST_B }).errors.join()).toMatch(/no statement subject/);
    expect(verifyBundle(bundle, { keys, predicateType: 'https://slsa.dev/provenance/v1' }).ok).toBe(false);
    expect(verifyBundle(bundle, {}).ok).toBe(false);
    // several keys, one matching
    expect(verifyBundle(bundle, { keys: [...otherKeys, ...keys] }).ok).toBe(true);
  });

  it('rejects a tampered payload or signature', async () => {
    const bundle = await signDsseBundle(key, statement);
    const forged = structuredClone(bundle);
    const evil = { ...statement, subject: [{ name: 'x', digest: { sha256: 'b'.repeat(64) } }] };
    forged.dsseEnvelope!.payload = Buffer.from(JSON.stringify(evil)).toString('base64');
    expect(verifyBundle(forged, { keys, expectedDigest: DIGEST_B }).ok).toBe(false);
    const badSig = structuredClone(bundle);
    badSig.dsseEnvelope!.signatures[0]!.sig = key.sign(Buffer.from('x')).toString('base64');
    expect(verifyBundle(badSig, { keys }).ok).toBe(false);
    expect(verifyBundle('{"not":"a bundle"}', { keys }).errors.join()).toMatch(/invalid bundle/);
  });

  it('signImageBundle writes the cosign v3 sign statement', async () => {
    const b = await signImageBundle(key, DIGEST_A);
    const r = verifyBundle(b, { keys, expectedDigest: DIGEST_A, predicateType: COSIGN_SIGN_PREDICATE_TYPE });
    expect(r.ok).toBe(true);
    expect(r.statement?.predicate).toEqual({});
  });

  it('message-signature bundles need and check the artifact', async () => {
    const manifest = Buffer.from('{"schemaVersion":2}');
    const b = await signMessageBundle(key, manifest);
    expect(verifyBundle(b, { keys }).ok).toBe(false);
    expect(verifyBundle(b, { keys, artifact: manifest, expectedDigest: sha256Digest(manifest) }).ok).toBe(true);
    expect(verifyBundle(b, { keys, artifact: Buffer.from('other') }).ok).toBe(false);
  });
});

describe('bundles written by cosign v3.1.3', () => {
  const cosignKeys = loadVerificationKeys([fixture('cosign.pub').toString()]);

  it('the `cosign sign` bundle verifies with the cosign key for the image digest', () => {
    const r = verifyBundle(fixture('sign.bundle.json'), { keys: cosignKeys, expectedDigest: fixtureDigest() });
    expect(r).toMatchObject({ ok: true, predicateType: COSIGN_SIGN_PREDICATE_TYPE });
    expect(verifyBundle(fixture('sign.bundle.json'), { keys: otherKeys }).ok).toBe(false);
    expect(verifyBundle(fixture('sign.bundle.json'), { keys: cosignKeys, expectedDigest: DIGEST_A }).ok).toBe(false);
  });

  it('our referrer manifest for that bundle is byte-identical to the one cosign pushed', () => {
    const cosignReferrer = fixture('sign-bundle.referrer.json');
    const parsed = JSON.parse(cosignReferrer.toString());
    const image = fixture('image.manifest.json');
    const ours = buildBundleReferrer(
      fixture('sign.bundle.json'),
      { digest: fixtureDigest(), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: image.length },
      SIGSTORE_BUNDLE_V03,
      { created: new Date(parsed.annotations['org.opencontainers.image.created']) },
    );
    expect(ours.manifest.toString()).toBe(cosignReferrer.toString());
    expect(ours.digest).toBe(sha256Digest(cosignReferrer));
    expect(ours.blobs.map((b) => b.digest)).toEqual([parsed.config.digest, parsed.layers[0].digest]);
  });

  it('the attest referrer too (predicate type read from the statement)', () => {
    const cosignReferrer = fixture('attest-bundle.referrer.json');
    const parsed = JSON.parse(cosignReferrer.toString());
    const ours = buildBundleReferrer(fixture('slsa.bundle.json'), parsed.subject, SIGSTORE_BUNDLE_V03, {
      created: new Date(parsed.annotations['org.opencontainers.image.created']),
    });
    expect(ours.manifest.equals(cosignReferrer)).toBe(true);
  });
});

describe('the referrers fallback index of a bundle referrer', () => {
  it('lists our referrer as cosign lists its own, appends once, and keeps what cosign wrote', async () => {
    const b = await signDsseBundle(key, statement);
    const ref = buildBundleReferrer(b, { digest: DIGEST_A, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10 });
    const { descriptor: d, subject } = referrerDescriptor(ref.manifest, ref.mediaType);
    expect(subject.digest).toBe(DIGEST_A);
    expect(d).toMatchObject({ digest: ref.digest, size: ref.manifest.length, artifactType: SIGSTORE_BUNDLE_V03 });
    const first = withReferrers(undefined, [d]);
    expect(first).toMatchObject({ mediaType: OCI_INDEX, manifests: [d] });
    expect(withReferrers(first, [d])).toBeUndefined();
    const cosignIndex = JSON.parse(fixture('referrers-fallback.index.json').toString());
    const merged = withReferrers(cosignIndex, [d]);
    expect(merged!.manifests).toHaveLength(3);
    expect(merged!.manifests.slice(0, 2)).toEqual(cosignIndex.manifests);
  });
});
