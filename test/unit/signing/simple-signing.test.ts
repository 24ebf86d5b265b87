import { describe, expect, it } from 'vitest';
import {
  OCI_CONFIG,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  loadSigningKey,
  loadVerificationKeys,
  mergeSignatureArtifact,
  sha256Digest,
  signatureLayer,
  simpleSigningPayload,
  verifyCosignSignature,
  type SigningKey,
} from '../../../lib/signing';
import { DIGEST_A, DIGEST_B, fixture, fixtureDigest, p256Pair } from './helpers';

/** A fresh `.sig` manifest with one signature: what attaching to an unsigned digest writes. */
const buildSignatureArtifact = (key: SigningKey, target: { dockerReference: string; digest: string; annotations?: Record<string, string> }) =>
  mergeSignatureArtifact(undefined, signatureLayer(key, target)).artifact;

const blobsOf = (artifact: { blobs: { digest: string; bytes: Buffer }[] }) => new Map(artifact.blobs.map((b) => [b.digest, b.bytes]));
const getter = (m: Map<string, Buffer>) => async (d: string) => {
  const b = m.get(d);
  if (!b) throw new Error(`blob ${d} not found`);
  return b;
};

describe('simpleSigningPayload', () => {
  it('is byte-identical to the payload cosign v3.1.3 signed', () => {
    const cosignPayload = fixture('legacy-sig.payload.json');
    const ref = JSON.parse(cosignPayload.toString()).critical.identity['docker-reference'];
    expect(simpleSigningPayload(ref, fixtureDigest()).equals(cosignPayload)).toBe(true);
  });

  it('writes optional annotations as an object with sorted keys', () => {
    const p = simpleSigningPayload('reg.example/app', DIGEST_A, { z: '1', a: '2' }).toString();
    expect(p).toBe(
      `{"critical":{"identity":{"docker-reference":"reg.example/app"},"image":{"docker-manifest-digest":"${DIGEST_A}"},"type":"cosign container image signature"},"optional":{"a":"2","z":"1"}}`,
    );
  });

  it('refuses a malformed digest', () => {
    expect(() => simpleSigningPayload('r', 'sha256:abc')).toThrow(/sha256/);
  });
});

describe('a fresh .sig artifact', () => {
  const key = loadSigningKey({ pem: p256Pair().privatePem });
  const art = buildSignatureArtifact(key, { dockerReference: 'reg.example/app', digest: DIGEST_A });

  it('has the cosign .sig layout: tag, the OCI 1.1 empty config, one annotated simple-signing layer', () => {
    expect(art.tag).toBe(`sha256-${'a'.repeat(64)}.sig`);
    expect(art.digest).toBe(sha256Digest(art.manifest));
    const m = JSON.parse(art.manifest.toString());
    expect(Object.keys(m)).toEqual(['schemaVersion', 'mediaType', 'config', 'layers']);
    // The shared `{}` blob every referrer has too (cosign reads the layers only; the interop tests check it appends)
    expect(m.config).toEqual({ mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha256Digest(Buffer.from('{}')) });
    expect(m.layers).toHaveLength(1);
    expect(Object.keys(m.layers[0])).toEqual(['mediaType', 'size', 'digest', 'annotations']);
    expect(m.layers[0].mediaType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
    for (const b of art.blobs) expect(sha256Digest(b.bytes)).toBe(b.digest);
  });

  it('verifies with the key and fails with another key, another digest, or a tampered payload', async () => {
    const keys = loadVerificationKeys([key.publicKeyPem]);
    const ok = await verifyCosignSignature(art.manifest, getter(blobsOf(art)), { digest: DIGEST_A, keys });
    expect(ok.valid).toBe(true);
    expect(ok.signers).toEqual([expect.objectContaining({ keyHint: key.keyHint, dockerReference: 'reg.example/app' })]);

    const other = loadVerificationKeys([p256Pair().publicPem]);
    const bad = await verifyCosignSignature(art.manifest, getter(blobsOf(art)), { digest: DIGEST_A, keys: other });
    expect(bad.valid).toBe(false);
    expect(bad.errors.join()).toMatch(/does not verify/);

    const wrongDigest = await verifyCosignSignature(art.manifest, getter(blobsOf(art)), { digest: DIGEST_B, keys });
    expect(wrongDigest.valid).toBe(false);
    expect(wrongDigest.errors.join()).toMatch(/is not sha256:bbbb/);

    const m = JSON.parse(art.manifest.toString());
    const tampered = new Map(blobsOf(art));
    tampered.set(m.layers[0].digest, Buffer.from(simpleSigningPayload('reg.example/app', DIGEST_B)));
    const t = await verifyCosignSignature(art.manifest, getter(tampered), { digest: DIGEST_A, keys });
    expect(t.valid).toBe(false);
    expect(t.errors.join()).toMatch(/does not match its digest/);

    m.layers[0].annotations[SIGNATURE_ANNOTATION] = key.sign(Buffer.from('other')).toString('base64');
    const s = await verifyCosignSignature(Buffer.from(JSON.stringify(m)), getter(blobsOf(art)), { digest: DIGEST_A, keys });
    expect(s.valid).toBe(false);
  });

  it('checks required annotations', async () => {
    const withAnn = buildSignatureArtifact(key, { dockerReference: 'r/a', digest: DIGEST_A, annotations: { run: '7' } });
    const keys = loadVerificationKeys([key.publicKeyPem]);
    expect((await verifyCosignSignature(withAnn.manifest, getter(blobsOf(withAnn)), { digest: DIGEST_A, keys, annotations: { run: '7' } })).valid).toBe(true);
    expect((await verifyCosignSignature(withAnn.manifest, getter(blobsOf(withAnn)), { digest: DIGEST_A, keys, annotations: { run: '8' } })).valid).toBe(false);
  });
});

describe('verifyCosignSignature on a signature written by cosign v3.1.3', () => {
  const manifest = fixture('legacy-sig.manifest.json');
  const payload = fixture('legacy-sig.payload.json');
  const blobs = new Map([[sha256Digest(payload), payload]]);

  it('accepts it with the cosign public key', async () => {
    const keys = loadVerificationKeys([fixture('cosign.pub').toString()]);
    const r = await verifyCosignSignature(manifest, getter(blobs), { digest: fixtureDigest(), keys });
    expect(r).toMatchObject({ valid: true, errors: [] });
  });

  it('rejects it with another key', async () => {
    const r = await verifyCosignSignature(manifest, getter(blobs), { digest: fixtureDigest(), keys: loadVerificationKeys([p256Pair().publicPem]) });
    expect(r.valid).toBe(false);
  });
});

describe('mergeSignatureArtifact', () => {
  const keyA = loadSigningKey({ pem: p256Pair().privatePem });
  const keyB = loadSigningKey({ pem: p256Pair().privatePem });
  const target = { dockerReference: 'reg.example/app', digest: DIGEST_A };

  it('starts a manifest when none exists', () => {
    const r = mergeSignatureArtifact(undefined, signatureLayer(keyA, target));
    expect(r.changed).toBe(true);
    expect(JSON.parse(r.artifact.manifest.toString()).layers).toHaveLength(1);
  });

  it('is idempotent for the same key even though ECDSA signatures differ each time', () => {
    const first = buildSignatureArtifact(keyA, target);
    const again = signatureLayer(keyA, target);
    expect(again.descriptor.annotations![SIGNATURE_ANNOTATION]).not.toBe(first.layer!.descriptor.annotations![SIGNATURE_ANNOTATION]);
    const r = mergeSignatureArtifact(first.manifest, again, { key: loadVerificationKeys([keyA.publicKeyPem])[0], payloads: blobsOf(first) });
    expect(r.changed).toBe(false);
    expect(r.artifact.manifest.equals(first.manifest)).toBe(true);
    expect(r.artifact.digest).toBe(first.digest);
  });

  it('treats an identical layer as present even without the key', () => {
    const first = buildSignatureArtifact(keyA, target);
    expect(mergeSignatureArtifact(first.manifest, first.layer!).changed).toBe(false);
  });

  it('appends a second key, keeping existing layers byte-identical and first, and the empty config', async () => {
    const first = buildSignatureArtifact(keyA, target);
    const r = mergeSignatureArtifact(first.manifest, signatureLayer(keyB, target), {
      key: loadVerificationKeys([keyB.publicKeyPem])[0],
      payloads: blobsOf(first),
    });
    expect(r.changed).toBe(true);
    const before = JSON.parse(first.manifest.toString());
    const after = JSON.parse(r.artifact.manifest.toString());
    expect(after.layers).toHaveLength(2);
    expect(after.layers[0]).toEqual(before.layers[0]);
    expect(after.config).toEqual(before.config);
    // both keys verify against the merged manifest
    const blobs = new Map([...blobsOf(first), ...blobsOf(r.artifact)]);
    const v = await verifyCosignSignature(r.artifact.manifest, getter(blobs), {
      digest: DIGEST_A,
      keys: loadVerificationKeys([keyA.publicKeyPem, keyB.publicKeyPem]),
    });
    expect(v.signers.map((s) => s.keyHint).sort()).toEqual([keyA.keyHint, keyB.keyHint].sort());
    // merging B again is now a no-op
    expect(
      mergeSignatureArtifact(r.artifact.manifest, signatureLayer(keyB, target), { key: loadVerificationKeys([keyB.publicKeyPem])[0], payloads: blobs }).changed,
    ).toBe(false);
  });

  it('appends to a manifest written by cosign, keeping its config form (diff_ids of every layer)', () => {
    const cosignManifest = fixture('legacy-sig.manifest.json');
    const r = mergeSignatureArtifact(cosignManifest, signatureLayer(keyA, { dockerReference: 'x/y', digest: fixtureDigest() }));
    expect(r.changed).toBe(true);
    const after = JSON.parse(r.artifact.manifest.toString());
    expect(after.layers[0]).toEqual(JSON.parse(cosignManifest.toString()).layers[0]);
    expect(after.config.mediaType).toBe(OCI_CONFIG);
    const config = JSON.parse(r.artifact.blobs.find((b) => b.digest === after.config.digest)!.bytes.toString());
    expect(config.rootfs.diff_ids).toEqual(after.layers.map((l: { digest: string }) => l.digest));
    expect(Object.keys(config)).toEqual(['architecture', 'created', 'history', 'os', 'rootfs', 'config']);
  });
});
