// The in-memory registry the activity tests run on: it must behave like the registries the
// promoter meets, or the activity tests prove nothing. A copy puts the whole tree and the build's
// referrers there, tags never move, what is written as signatures verifies with the real
// verifiers, and the faults it injects come out as the client's errors would.
import { describe, expect, it } from 'vitest';
import { KeySigner, legacyLayerOf, loadSigningKey, loadVerificationKeys, promotionStatement, referrersFallbackTag, signatureTag } from '../../../lib/signing';
import type { CopyTask } from '../../../lib/run/plan';
import { FakeRegistry } from '../../support/fake-registry';
import { p256Pair } from '../signing/helpers';

const staging = { host: 'staging.example', repository: 's/app' };
const prod = { host: 'prod.example', repository: 'p/app' };
const mirror = { host: 'mirror.example', repository: 'p/app' };
const task = (digest: string, destination = prod, tags = ['v1']): CopyTask => ({
  project: 'p',
  image: 'app',
  destinationIndex: 0,
  source: staging,
  destination,
  digest,
  tags,
  edges: tags.length || 1,
});

describe('FakeRegistry copies', () => {
  it('puts an index with its children and blobs at the destination, tags last, and a second copy writes nothing', async () => {
    const fake = new FakeRegistry();
    const index = fake.putImage(staging, 'multi', { platforms: 2 });
    const tree = await fake.manifestTree({ ...staging, digest: index });
    expect(tree.children).toHaveLength(2);

    const first = await fake.copy(task(index, prod, ['v1', 'latest']));
    expect(first.tags).toEqual([
      { tag: 'v1', result: 'written' },
      { tag: 'latest', result: 'written' },
    ]);
    expect(first.transfer).toMatchObject({ manifestsWritten: 3, blobsUploaded: 4, blobsSkipped: 0 });
    for (const d of [index, ...tree.children.map((c) => c.digest)]) expect(fake.has(prod, d)).toBe(true);
    expect(await fake.manifestDigest(prod, 'latest')).toBe(index);

    const again = await fake.copy(task(index, prod, ['v1', 'latest']));
    expect(again.tags.map((t) => t.result)).toEqual(['present', 'present']);
    expect(again.transfer).toMatchObject({ manifestsWritten: 0, blobsUploaded: 0 });
    expect(fake.copies).toHaveLength(2);
  });

  it('never moves a tag somebody else re-pointed', async () => {
    const fake = new FakeRegistry();
    const a = fake.putImage(staging, 'a');
    const b = fake.putImage(staging, 'b');
    await fake.copy(task(b, prod, ['v1']));
    fake.moveTag(prod, 'v1', b);
    const out = await fake.copy(task(a, prod, ['v1', 'v2']));
    expect(out.tags).toEqual([
      { tag: 'v1', result: 'tag-move', currentDigest: b },
      { tag: 'v2', result: 'written' },
    ]);
    expect(fake.tagsOf(prod)).toMatchObject({ v1: b, v2: a });
    expect(fake.has(prod, a)).toBe(true); // the image is copied by digest all the same
  });

  it("takes the build's referrers along but not the source's signatures: a fallback index where the host has no referrers API", async () => {
    const fake = new FakeRegistry();
    fake.apiHosts.add(mirror.host);
    const image = fake.putImage(staging, 'with-sbom');
    const sbom = fake.attach(staging, image, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
    const signature = fake.attach(staging, image, 'application/vnd.dev.sigstore.bundle.v0.3+json', '{}');

    const toProd = await fake.copy(task(image, prod));
    expect(toProd.transfer.referrersCopied).toBe(1);
    expect(toProd.fallbackTag).toBe(referrersFallbackTag(image));
    expect(fake.referrersOf(prod, image).map((d) => d.digest)).toEqual([sbom]);
    expect(await fake.manifestDigest(prod, referrersFallbackTag(image))).toBeDefined();

    const toMirror = await fake.copy(task(image, mirror));
    expect(toMirror.fallbackTag).toBeUndefined();
    expect(fake.referrersOf(mirror, image).map((d) => d.digest)).toEqual([sbom]);
    expect(fake.has(mirror, signature)).toBe(false);
  });
});

describe('FakeRegistry signatures', () => {
  const pair = p256Pair();
  const key = loadSigningKey({ pem: pair.privatePem });
  const keys = loadVerificationKeys([pair.publicPem]);
  const otherKeys = loadVerificationKeys([p256Pair().publicPem]);

  it('what writeSignatures writes is found and verifies with the real verifiers, in both formats', async () => {
    const fake = new FakeRegistry();
    const image = fake.putImage(staging, 'signed');
    await fake.copy(task(image, prod));
    const { image: subject } = await fake.manifestTree({ ...prod, digest: image });
    const set = await new KeySigner(key, 'both').signImage({ dockerReference: `${prod.host}/${prod.repository}`, digest: image });

    const out = await fake.writeSignatures(prod, { subject, set });
    expect(out).toMatchObject({ legacy: 'written', index: 'written' });
    expect(await fake.listTags(prod)).toEqual(expect.arrayContaining([signatureTag(image), referrersFallbackTag(image)]));

    const found = await fake.findSignatures({ ...prod, digest: image });
    expect(found.signature).toBeDefined();
    expect(found.bundles).toHaveLength(1);
    expect(await fake.verifySignatures({ ...prod, digest: image }, { keys }, found)).toMatchObject({ valid: true, formats: ['legacy', 'bundle'] });
    expect((await fake.verifySignatures({ ...prod, digest: image }, { keys: otherKeys })).valid).toBe(false);
    expect(fake.writes).toHaveLength(1);

    // Written again as Sign's retry would: nothing changes.
    expect(await fake.writeSignatures(prod, { subject, set })).toMatchObject({ legacy: 'present', index: 'unchanged' });
  });

  it('an attestation joins the fallback index next to the signature; on a referrers-API host no index is written', async () => {
    const fake = new FakeRegistry();
    fake.apiHosts.add(mirror.host);
    const image = fake.putImage(staging, 'attested');
    await fake.copy(task(image, prod));
    await fake.copy(task(image, mirror));
    const { image: subject } = await fake.manifestTree({ ...prod, digest: image });
    const signer = new KeySigner(key, 'bundle');
    const set = await signer.signImage({ dockerReference: `${prod.host}/${prod.repository}`, digest: image });
    const statement = promotionStatement({
      subjectName: 'prod.example/p/app',
      digest: image,
      sourceRef: 's',
      destinationRefs: [],
      runId: 'wf/run',
      builderId: 'test',
      time: '2026-01-01T00:00:00Z',
    });
    const attestation = { bundle: await signer.signStatement(statement), created: '2026-01-01T00:00:00Z' };

    const deferred = await fake.writeSignatures(prod, { subject, set, deferIndex: true });
    expect(deferred).toMatchObject({ index: 'deferred' });
    expect(await fake.manifestDigest(prod, referrersFallbackTag(image))).toBeUndefined();
    await fake.writeSignatures(prod, { subject, attestations: [attestation], indexBase: deferred.pendingIndex! });
    expect(fake.referrersOf(prod, image)).toHaveLength(2);
    const predicateTypes = (await fake.findSignatures({ ...prod, digest: image })).bundles.map((b) => b.predicateType).sort();
    expect(predicateTypes).toEqual(['https://promoter.k8s.io/promotion/v1', 'https://sigstore.dev/cosign/sign/v1']);

    expect(await fake.writeSignatures(mirror, { subject, set, attestations: [attestation] })).toMatchObject({ index: 'api' });
    expect(Object.keys(fake.tagsOf(mirror))).toEqual(['v1']);
    expect((await fake.verifySignatures({ ...mirror, digest: image }, { keys })).formats).toEqual(['bundle']);
  });
});

describe('FakeRegistry faults', () => {
  it('injects an error, 429s and a hang into the calls they name, and counts every call', async () => {
    const fake = new FakeRegistry();
    const image = fake.putImage(staging, 'faulty');
    fake.inject({ op: 'copy', where: mirror.host, fault: 'throttle', times: 2 });
    fake.inject({ op: 'listTags', fault: new Error('connection reset') });
    fake.inject({ op: 'ping', where: 'down.example', fault: 'hang' });

    await expect(fake.copy(task(image, mirror))).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', status: 429, retryable: true });
    expect((await fake.copy(task(image, prod))).tags[0]!.result).toBe('written'); // another host: no fault
    await expect(fake.copy(task(image, mirror))).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    expect((await fake.copy(task(image, mirror))).tags[0]!.result).toBe('written'); // the two 429s are spent
    await expect(fake.listTags(prod)).rejects.toThrow('connection reset');
    expect(await fake.listTags(prod)).toEqual(['v1']);

    await fake.ping('up.example');
    let answered = false;
    void fake.ping('down.example').then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    expect(fake.calls).toMatchObject({ copy: 4, listTags: 2, ping: 2 });
  });

  it('a manifest the source does not hold fails the copy as MANIFEST_UNKNOWN, and nothing is tagged', async () => {
    const fake = new FakeRegistry();
    await expect(fake.copy(task(`sha256:${'0'.repeat(64)}`))).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    expect(fake.tagsOf(prod)).toEqual({});
  });

  describe('another writer in the middle of an update of a shared tag', () => {
    const pair = p256Pair();
    const key = loadSigningKey({ pem: pair.privatePem });
    const keys = loadVerificationKeys([pair.publicPem]);
    const theirs = p256Pair();
    const theirKeys = loadVerificationKeys([theirs.publicPem]);
    async function setUp() {
      const fake = new FakeRegistry();
      const image = fake.putImage(staging, 'shared');
      await fake.copy(task(image, prod));
      const { image: subject } = await fake.manifestTree({ ...prod, digest: image });
      const ours = await new KeySigner(key, 'both').signImage({ dockerReference: `${prod.host}/${prod.repository}`, digest: image });
      const theirSet = await new KeySigner(loadSigningKey({ pem: theirs.privatePem }), 'legacy').signImage({
        dockerReference: `${prod.host}/${prod.repository}`,
        digest: image,
      });
      return { fake, image, subject, ours, their: legacyLayerOf(theirSet)! };
    }
    const verified = async (fake: FakeRegistry, image: string, trust: { keys: typeof keys }) =>
      (await fake.verifySignatures({ ...prod, digest: image }, trust)).formats;

    it("a signature layer cosign adds between the writer's read and its write survives, and so does ours", async () => {
      const { fake, image, subject, ours, their } = await setUp();
      fake.interleave({ repo: prod, tag: signatureTag(image), when: 'before-write', act: (f) => f.appendSignature(prod, image, their) });
      expect(await fake.writeSignatures(prod, { subject, set: ours })).toMatchObject({ legacy: 'written' });
      expect(fake.signatureLayersOf(prod, image)).toHaveLength(2);
      expect(await verified(fake, image, { keys: theirKeys })).toEqual(['legacy']);
      expect(await verified(fake, image, { keys })).toContain('legacy');
    });

    it('a writer that replaces the `.sig` right after our write, without merging, does not make ours vanish: the read-back writes it again', async () => {
      const { fake, image, subject, ours, their } = await setUp();
      fake.unconditionalHosts.add(prod.host); // as distribution 2.8: the read-back is the guard
      fake.interleave({ repo: prod, tag: signatureTag(image), when: 'after-write', act: (f) => f.replaceSignature(prod, image, their) });
      await fake.writeSignatures(prod, { subject, set: ours });
      expect(fake.signatureLayersOf(prod, image)).toHaveLength(2);
      expect(await verified(fake, image, { keys: theirKeys })).toEqual(['legacy']);
      expect(await verified(fake, image, { keys })).toContain('legacy');
    });

    it("a referrer listed in the fallback index between the writer's read and its write stays listed next to ours", async () => {
      const { fake, image, subject, ours } = await setUp();
      let sbom = '';
      fake.interleave({
        repo: prod,
        tag: referrersFallbackTag(image),
        when: 'before-write',
        act: (f) => (sbom = f.attach(prod, image, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}')),
      });
      expect(await fake.writeSignatures(prod, { subject, set: ours })).toMatchObject({ index: 'written' });
      const listed = fake.referrersOf(prod, image).map((r) => r.digest);
      expect(sbom).not.toBe('');
      expect(listed).toContain(sbom);
      expect(listed).toHaveLength(2);
      expect(await verified(fake, image, { keys })).toEqual(['legacy', 'bundle']);
    });

    it('an index rewritten without our entry right after our write gets it back, and keeps the other entry', async () => {
      const { fake, image, subject, ours } = await setUp();
      fake.unconditionalHosts.add(prod.host);
      let sbom = '';
      fake.interleave({
        repo: prod,
        tag: referrersFallbackTag(image),
        when: 'after-write',
        act: (f) => {
          f.deleteTag(prod, referrersFallbackTag(image)); // a writer that starts the index afresh
          sbom = f.attach(prod, image, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');
        },
      });
      await fake.writeSignatures(prod, { subject, set: ours });
      const listed = fake.referrersOf(prod, image).map((r) => r.digest);
      expect(listed).toContain(sbom);
      expect(listed).toHaveLength(2);
      expect(await verified(fake, image, { keys })).toEqual(['legacy', 'bundle']);
    });
  });
});
