// Interop with the real cosign v3 CLI against the dev stack's registries
// (distribution, plain HTTP on loopback, no referrers API: the tag-schema
// fallback is exercised). Our signatures must pass `cosign verify`, cosign's
// must pass ours, and a different key must fail both ways.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, copyImage, type DigestRef } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import {
  KeySigner,
  PROMOTION_PREDICATE_TYPE,
  SLSA_PROVENANCE_V1,
  buildDsseBundle,
  cosignSignStatement,
  loadSigningKey,
  loadVerificationKeys,
  promotionStatement,
  signDsseBundle,
  type SigningKey,
  type VerificationKey,
} from '../../../lib/signing';
import { cosignRegistryFlags } from '../../../scripts/dev/stack';
import { COSIGN_OFFLINE, findCosign, runCosign } from '../../support/cosign';
import { signatureKit } from '../../support/signatures';
import { stack, uniqueName } from '../../support/stack-env';
import { certificateSigner, makeKeylessPki, timestampWitness } from '../../unit/signing/pki';

const cosign = findCosign();
const COSIGN_PASSWORD = 'interop-password';

describe.skipIf(!cosign)('cosign v3 interop (key-based, offline)', () => {
  const env = stack();
  const registry = env.registries.staging;
  const mirror = env.registries.all.mirrorA;
  const client = RegistryClient.fromDockerConfig({ configPath: env.dockerConfigFile });
  const kit = signatureKit(client);
  const store = kit.store;
  const dir = mkdtempSync(join(tmpdir(), 'promoter-cosign-'));
  const files = {
    ourPub: join(dir, 'ours.pub'),
    otherPub: join(dir, 'other.pub'),
    cosignKey: join(dir, 'cosign.key'),
    cosignPub: join(dir, 'cosign.pub'),
    predicate: join(dir, 'slsa.json'),
  };
  let ours: SigningKey;
  let ourKeys: VerificationKey[];
  let otherKeys: VerificationKey[];
  let cosignKeys: VerificationKey[];

  const newImage = async (name: string): Promise<DigestRef & { ref: string }> => {
    const repository = uniqueName(`signing/${name}`);
    const img = await pushRandomImage(client, registry, repository, { layers: 1, layerSize: 256 });
    return { host: registry, repository, digest: img.digest, ref: `${registry}/${repository}@${img.digest}` };
  };
  const cosignOk = (r: { code: number; stderr: string; command: string }) => expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
  const cosignFails = (r: { code: number; command: string }) => expect(r.code, `${r.command} should fail`).not.toBe(0);

  beforeAll(async () => {
    const pem = existsSync(env.signingKeyPath)
      ? readFileSync(env.signingKeyPath, 'utf8')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    ours = loadSigningKey({ pem });
    writeFileSync(files.ourPub, ours.publicKeyPem);
    ourKeys = loadVerificationKeys([ours.publicKeyPem]);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(files.otherPub, other);
    otherKeys = loadVerificationKeys([other]);
    cosignOk(await runCosign(['generate-key-pair', '--output-key-prefix', join(dir, 'cosign')], { COSIGN_PASSWORD }));
    cosignKeys = loadVerificationKeys([readFileSync(files.cosignPub, 'utf8')]);
    writeFileSync(
      files.predicate,
      JSON.stringify({
        buildDefinition: {
          buildType: 'https://example.com/build/v1',
          externalParameters: { source: 'git+https://github.com/kubernetes/kubernetes@refs/heads/main' },
          resolvedDependencies: [{ uri: 'git+https://github.com/kubernetes/kubernetes@refs/heads/main', digest: { gitCommit: 'a'.repeat(40) } }],
        },
        runDetails: { builder: { id: 'https://github.com/actions/runner' }, metadata: { invocationId: '1' } },
      }),
    );
  });

  describe('our signatures, cosign verifies', () => {
    it('legacy .sig: `cosign verify --key` passes with our key and fails with another', async () => {
      const img = await newImage('legacy');
      const r = await kit.sign(new KeySigner(ours, 'legacy'), img);
      expect(r.outcome.legacy).toBe('written');
      const ok = await runCosign(['verify', '--key', files.ourPub, ...COSIGN_OFFLINE.verify, img.ref]);
      cosignOk(ok);
      expect(JSON.parse(ok.stdout)[0].critical.image['docker-manifest-digest']).toBe(img.digest);
      expect(JSON.parse(ok.stdout)[0].critical.type).toBe('cosign container image signature');
      cosignFails(await runCosign(['verify', '--key', files.otherPub, ...COSIGN_OFFLINE.verify, img.ref]));
    });

    it('on the password-protected production registry: we sign with DOCKER_CONFIG credentials, cosign verifies with the same config', async () => {
      const production = env.registries.production;
      const repository = uniqueName('signing/auth');
      const pushed = await pushRandomImage(client, production, repository, { layers: 1, layerSize: 128 });
      const img = { host: production, repository, digest: pushed.digest };
      expect((await kit.sign(new KeySigner(ours, 'both'), img)).outcome).toMatchObject({ legacy: 'written', index: 'written' });
      const ref = `${production}/${repository}@${pushed.digest}`;
      cosignOk(await runCosign(['verify', '--key', files.ourPub, ...COSIGN_OFFLINE.verify, ref], { DOCKER_CONFIG: env.dockerConfigDir }));
      cosignOk(
        await runCosign(['verify', '--key', files.ourPub, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, ref], { DOCKER_CONFIG: env.dockerConfigDir }),
      );
      // without credentials cosign cannot even read the signatures
      cosignFails(await runCosign(['verify', '--key', files.ourPub, ...COSIGN_OFFLINE.verify, ref], { DOCKER_CONFIG: dir }));
    });

    it('multi-arch: the index and each child signed once (both formats); cosign verifies every digest', async () => {
      const repository = uniqueName('signing/multi');
      const pushed = await pushRandomImage(client, registry, repository, { layers: 1, layerSize: 64, platforms: ['linux/amd64', 'linux/arm64'] });
      const digests = [pushed.digest, ...pushed.children.map((c) => c.digest)];
      expect(digests).toHaveLength(3);
      // Children first, the index last, as Sign writes them.
      for (const digest of [...digests.slice(1), digests[0]!]) {
        expect((await kit.sign(new KeySigner(ours, 'both'), { host: registry, repository, digest })).outcome).toMatchObject({ legacy: 'written' });
      }
      for (const digest of digests) {
        const ref = `${registry}/${repository}@${digest}`;
        cosignOk(await runCosign(['verify', '--key', files.ourPub, ...COSIGN_OFFLINE.verify, ref]));
        cosignOk(await runCosign(['verify', '--key', files.ourPub, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, ref]));
        expect(await store.verifyImageSignatures({ host: registry, repository, digest }, { keys: ourKeys })).toMatchObject({
          valid: true,
          formats: ['legacy', 'bundle'],
        });
      }
    });

    it('writing an archived signature again (a retry) adds nothing: the .sig keeps one layer, the index one referrer', async () => {
      const img = await newImage('idem');
      const { set } = await kit.sign(new KeySigner(ours, 'both'), img);
      const before = await store.findSignatures(img);
      expect(await kit.write(set, img)).toMatchObject({ legacy: 'present', index: 'unchanged' });
      const found = await store.findSignatures(img);
      expect(JSON.parse(found.signature!.bytes.toString()).layers).toHaveLength(1);
      expect(found.signature!.digest).toBe(before.signature!.digest);
      expect(found.bundles.map((b) => b.referrer.digest)).toEqual(before.bundles.map((b) => b.referrer.digest));
      expect(found.bundles).toHaveLength(1);
    });

    it('bundle format: cosign v3 `verify` reads our referrer (tag-schema fallback) and rejects another key', async () => {
      const img = await newImage('bundle');
      const r = await kit.sign(new KeySigner(ours, 'bundle'), img);
      expect(r.outcome).toMatchObject({ index: 'written' });
      expect(r.outcome.legacy).toBeUndefined();
      const tags = await client.listTags(registry, img.repository);
      expect(tags).toContain(img.digest.replace(':', '-'));
      const ok = await runCosign(['verify', '--key', files.ourPub, ...COSIGN_OFFLINE.verify, img.ref]);
      cosignOk(ok);
      expect(JSON.parse(ok.stdout)[0].critical.type).toBe('https://sigstore.dev/cosign/sign/v1');
      cosignFails(await runCosign(['verify', '--key', files.otherPub, ...COSIGN_OFFLINE.verify, img.ref]));
    });

    it('attestation bundle: `cosign verify-attestation --type <promotion predicate>` passes; other key and other type fail', async () => {
      const img = await newImage('attest');
      await kit.sign(new KeySigner(ours, 'legacy'), img);
      const statement = promotionStatement({
        subjectName: `${registry}/${img.repository}`,
        digest: img.digest,
        sourceRef: img.ref,
        destinationRefs: [`${mirror}/${img.repository}@${img.digest}`],
        runId: 'run-interop',
        builderId: 'https://promoter.k8s.io/worker',
        time: new Date(),
      });
      const bundle = await signDsseBundle(ours, statement);
      const created = new Date();
      expect((await kit.attest(bundle, img, created)).index).toBe('written');
      // A retried activity attaches the archived attestation again: nothing new is listed.
      expect((await kit.attest(bundle, img, created)).index).toBe('unchanged');

      const ok = await runCosign(['verify-attestation', '--key', files.ourPub, '--type', PROMOTION_PREDICATE_TYPE, ...COSIGN_OFFLINE.verify, img.ref]);
      cosignOk(ok);
      const envelope = JSON.parse(ok.stdout.trim().split('\n')[0]!);
      expect(JSON.parse(Buffer.from(envelope.payload, 'base64').toString()).predicate.run.id).toBe('run-interop');
      cosignFails(await runCosign(['verify-attestation', '--key', files.otherPub, '--type', PROMOTION_PREDICATE_TYPE, ...COSIGN_OFFLINE.verify, img.ref]));
      cosignFails(await runCosign(['verify-attestation', '--key', files.ourPub, '--type', 'slsaprovenance1', ...COSIGN_OFFLINE.verify, img.ref]));
      // With a bundle referrer present, cosign v3 `verify` takes the bundle path; the .sig is still checked with --new-bundle-format=false.
      cosignOk(await runCosign(['verify', '--key', files.ourPub, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, img.ref]));
    });
  });

  describe('cosign signatures, we verify', () => {
    it('`cosign sign` (v3 default: bundle referrer) is accepted with the cosign key, rejected with another', async () => {
      const img = await newImage('cosign-sign');
      cosignOk(await runCosign(['sign', '--key', files.cosignKey, ...COSIGN_OFFLINE.sign, img.ref], { COSIGN_PASSWORD }));
      const good = await store.verifyImageSignatures(img, { keys: cosignKeys });
      expect(good).toMatchObject({ valid: true, formats: ['bundle'] });
      const bad = await store.verifyImageSignatures(img, { keys: otherKeys });
      expect(bad.valid).toBe(false);
      expect(bad.errors.join()).toMatch(/does not verify/);
    });

    it('cosign co-signs a .sig we started (empty config): both signatures verify, ours kept first', async () => {
      const img = await newImage('cosign-cosigns');
      await kit.sign(new KeySigner(ours, 'legacy'), img);
      const before = JSON.parse((await store.findSignatures(img)).signature!.bytes.toString());
      expect(before.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
      cosignOk(await runCosign(['sign', '--key', files.cosignKey, '--new-bundle-format=false', ...COSIGN_OFFLINE.sign, img.ref], { COSIGN_PASSWORD }));
      const after = JSON.parse((await store.findSignatures(img)).signature!.bytes.toString());
      expect(after.layers).toHaveLength(2);
      expect(after.layers[0]).toEqual(before.layers[0]);
      for (const pub of [files.ourPub, files.cosignPub])
        cosignOk(await runCosign(['verify', '--key', pub, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, img.ref]));
      expect((await store.verifyImageSignatures(img, { keys: [...cosignKeys, ...ourKeys] })).signers).toHaveLength(2);
    });

    it("`cosign sign --new-bundle-format=false` (.sig) is accepted, and merging our signature keeps cosign's layer", async () => {
      const img = await newImage('cosign-legacy');
      cosignOk(await runCosign(['sign', '--key', files.cosignKey, '--new-bundle-format=false', ...COSIGN_OFFLINE.sign, img.ref], { COSIGN_PASSWORD }));
      expect(await store.verifyImageSignatures(img, { keys: cosignKeys })).toMatchObject({ valid: true, formats: ['legacy'] });
      expect((await store.verifyImageSignatures(img, { keys: otherKeys })).valid).toBe(false);
      const before = await store.findSignatures(img);
      await kit.sign(new KeySigner(ours, 'legacy'), img);
      const after = await store.findSignatures(img);
      const layers = JSON.parse(after.signature!.bytes.toString()).layers;
      expect(layers).toHaveLength(2);
      expect(layers[0]).toEqual(JSON.parse(before.signature!.bytes.toString()).layers[0]);
      const both = await store.verifyImageSignatures(img, { keys: [...cosignKeys, ...ourKeys] });
      expect(both.signers.map((s) => s.keyHint).sort()).toEqual([cosignKeys[0]!.keyHint, ours.keyHint].sort());
      // and cosign accepts the merged manifest with either key
      cosignOk(await runCosign(['verify', '--key', files.cosignPub, ...COSIGN_OFFLINE.verify, img.ref]));
      cosignOk(await runCosign(['verify', '--key', files.ourPub, ...COSIGN_OFFLINE.verify, img.ref]));
    });

    it('`cosign attest --type slsaprovenance1` (bundle and legacy .att) passes our provenance policy; wrong key, builder or source fail', async () => {
      const policy = { keys: cosignKeys, builders: ['https://github.com/actions/runner'], sources: ['git+https://github.com/kubernetes/'] };
      for (const extra of [[], ['--new-bundle-format=false']]) {
        const img = await newImage('cosign-attest');
        cosignOk(
          await runCosign(
            ['attest', '--key', files.cosignKey, '--type', 'slsaprovenance1', '--predicate', files.predicate, ...extra, ...COSIGN_OFFLINE.sign, img.ref],
            { COSIGN_PASSWORD },
          ),
        );
        const ok = await store.verifyImageProvenance(img, policy);
        expect(ok, ok.reason).toMatchObject({ ok: true, builderId: 'https://github.com/actions/runner' });
        expect(ok.source).toMatch(extra.length ? /\.att layer/ : /^referrer /);
        expect((await store.verifyImageProvenance(img, { ...policy, keys: otherKeys })).ok).toBe(false);
        expect((await store.verifyImageProvenance(img, { ...policy, builders: ['https://evil/builder'] })).ok).toBe(false);
        expect((await store.verifyImageProvenance(img, { ...policy, sources: ['git+https://github.com/evil/'] })).ok).toBe(false);
      }
      const unsigned = await newImage('no-provenance');
      expect((await store.verifyImageProvenance(unsigned, policy)).reason).toMatch(/no SLSA provenance/);
    });
  });

  describe('copySignatures to a mirror', () => {
    it('copies .sig, .att and bundle referrers byte for byte; cosign verifies at the mirror; a second copy is a no-op', async () => {
      const img = await newImage('mirror');
      await kit.sign(new KeySigner(ours, 'legacy'), img);
      cosignOk(
        await runCosign(
          [
            'attest',
            '--key',
            files.cosignKey,
            '--type',
            'slsaprovenance1',
            '--predicate',
            files.predicate,
            '--new-bundle-format=false',
            ...COSIGN_OFFLINE.sign,
            img.ref,
          ],
          { COSIGN_PASSWORD },
        ),
      );
      await kit.attest(
        await signDsseBundle(
          ours,
          promotionStatement({
            subjectName: img.repository,
            digest: img.digest,
            sourceRef: img.ref,
            destinationRefs: [],
            runId: 'r',
            builderId: 'b',
            time: new Date(),
          }),
        ),
        img,
      );
      const source = await store.findSignatures(img);
      expect(source.signature && source.attestation && source.bundles.length === 1).toBeTruthy();

      await copyImage(client, img, { host: mirror, repository: img.repository });
      const to = { host: mirror, repository: img.repository };
      const r = await store.copySignatures(img, to);
      expect(r).toEqual({ signature: 'copied', attestation: 'copied', referrers: { copied: 1, unchanged: 0 }, errors: [] });

      const copied = await store.findSignatures({ ...to, digest: img.digest });
      expect(copied.signature!.digest).toBe(source.signature!.digest);
      expect(copied.signature!.bytes.equals(source.signature!.bytes)).toBe(true);
      expect(copied.attestation!.digest).toBe(source.attestation!.digest);
      expect(copied.bundles.map((b) => b.referrer.digest)).toEqual(source.bundles.map((b) => b.referrer.digest));
      expect(copied.bundles[0]!.bundle.equals(source.bundles[0]!.bundle)).toBe(true);

      const mirrorRef = `${mirror}/${img.repository}@${img.digest}`;
      cosignOk(await runCosign(['verify', '--key', files.ourPub, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, mirrorRef]));
      cosignOk(await runCosign(['verify-attestation', '--key', files.ourPub, '--type', PROMOTION_PREDICATE_TYPE, ...COSIGN_OFFLINE.verify, mirrorRef]));
      expect((await store.verifyImageProvenance({ ...to, digest: img.digest }, { keys: cosignKeys, builders: [], sources: [] })).ok).toBe(true);

      expect(await store.copySignatures(img, to)).toEqual({
        signature: 'unchanged',
        attestation: 'unchanged',
        referrers: { copied: 0, unchanged: 1 },
        errors: [],
      });
      expect(SLSA_PROVENANCE_V1).toBe('https://slsa.dev/provenance/v1');
    });
  });

  describe('keyless bundles (certificate + RFC 3161 timestamp, trusted root)', () => {
    it('cosign verifies our certificate bundle with --trusted-root and the identity; another identity fails; we agree', async () => {
      const identity = { email: 'release@k8s.example', issuer: 'https://oidc.k8s.example' };
      const pki = makeKeylessPki(identity);
      const rootFile = join(dir, 'trusted_root.json');
      writeFileSync(rootFile, JSON.stringify(pki.trustedRoot));
      const img = await newImage('keyless');
      const bundle = await buildDsseBundle(certificateSigner(pki), [timestampWitness(pki)], cosignSignStatement(img.digest));
      await kit.attest(bundle, img);
      const flags = [
        '--trusted-root',
        rootFile,
        '--certificate-oidc-issuer',
        identity.issuer,
        '--insecure-ignore-tlog=true',
        '--insecure-ignore-sct=true',
        '--use-signed-timestamps=true',
        ...cosignRegistryFlags(),
      ];
      cosignOk(await runCosign(['verify', ...flags, '--certificate-identity', identity.email, img.ref]));
      cosignOk(await runCosign(['verify', ...flags, '--certificate-identity-regexp', '^release@', img.ref]));
      cosignFails(await runCosign(['verify', ...flags, '--certificate-identity', 'attacker@evil.example', img.ref]));

      const keyless = { trustedRoot: pki.trustedRoot, identities: [{ issuer: identity.issuer, subject: identity.email }], tlogThreshold: 0, ctlogThreshold: 0 };
      expect(await store.verifyImageSignatures(img, { keyless })).toMatchObject({ valid: true, formats: ['bundle'] });
      const wrong = { ...keyless, identities: [{ issuer: identity.issuer, subject: 'attacker@evil.example' }] };
      expect((await store.verifyImageSignatures(img, { keyless: wrong })).valid).toBe(false);
    });
  });
});
