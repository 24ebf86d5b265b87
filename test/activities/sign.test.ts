// Sign on the fake registry, verified with the real verifiers: every promoted digest (an index and
// its children) signed once in the configured formats and written to the primary and both mirrors
// (one with the referrers API, one with the fallback index), archived first; nothing written where
// the worker's signatures already are; a destination that lacks them gets exactly the archived
// bytes; a resumed Sign writes only what its checkpoint does not hold, and never twice.
import { describe, expect, it } from 'vitest';
import type { ArchivedSignatures, ResultDocument } from '../../lib/run/documents';
import type { Failure, SignSummary } from '../../lib/run/outcomes';
import { signatureArchiveKey, tagRecordKey } from '../../lib/run/storage-keys';
import type { TagRecord } from '../../lib/run/tag-record';
import { KeySigner, legacyLayerOf, loadSigningKey, loadVerificationKeys, referrersFallbackTag, signatureTag, type SignatureFormat } from '../../lib/signing';
import { everywhere, mirrorA, mirrorB, prod, project, staging, World } from '../support/activity-world';
import { p256Pair } from '../unit/signing/helpers';

const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

/** `multi` (an index over two platforms) and `single`, promoted to the three destinations. */
async function promoted(opts: { format?: SignatureFormat; names?: string[] } = {}) {
  const world = new World({ format: opts.format ?? 'both' });
  const d: Record<string, string> = {};
  const names = opts.names ?? ['multi', 'single'];
  for (const name of names) d[name] = world.registry.putImage(staging(name), name, name === 'multi' ? { platforms: 2 } : {});
  const input = world.input([project({ images: names.map((name) => ({ name, dmap: { [d[name]!]: ['v1'] } })) })]);
  const run = await world.run(input).through('promote');
  const children = async (name: string) => (await world.registry.manifestTree({ ...staging(name), digest: d[name]! })).children.map((c) => c.digest);
  return { world, d, run, input, children };
}

const formatsAt = async (world: World, repo: { host: string; repository: string }, digest: string) =>
  (await world.registry.verifySignatures({ ...repo, digest }, world.trust)).formats;

describe('sign', () => {
  it('signs every manifest of every promoted image once, in both formats, at the primary and each mirror; Attest completes the image fallback index', async () => {
    const { world, d, run, children } = await promoted();
    const mark = `both:${world.signingKey.keyHint}`;
    const summary = (run.sign = await run.exec(run.worker.sign, [run.afterPromote()]));
    expect(summary).toMatchObject({ signed: 2, alreadySigned: 0, mirrored: 4, manifestsSigned: 4, failureCount: 0 });
    expect(world.doc<ResultDocument<SignSummary>>(summary.resultKey)).toEqual({ summary, failures: [] });

    // Archived before anything was written: the index's children first, the index last.
    const archived = world.doc<ArchivedSignatures>(signatureArchiveKey(d.multi!, mark));
    expect(archived.manifests.map((m) => m.subject.digest)).toEqual([...(await children('multi')), d.multi]);

    for (const dest of everywhere('multi')) {
      for (const child of await children('multi')) expect(await formatsAt(world, dest, child), `${key(dest)} child`).toEqual(['legacy', 'bundle']);
      // The image's own bundle waits for Attest where there is no referrers API (one index write for both).
      expect(await formatsAt(world, dest, d.multi!), key(dest)).toEqual(dest.host === 'mirror-a.example' ? ['legacy', 'bundle'] : ['legacy']);
      expect(world.doc<TagRecord>(tagRecordKey(dest.host, dest.repository)).signed).toEqual({ [d.multi!]: mark });
    }
    // Every destination got the same `.sig` bytes (written from the archive, not read back from the primary).
    const sigs = await Promise.all(everywhere('single').map((dest) => world.registry.manifestDigest(dest, signatureTag(d.single!))));
    expect(new Set(sigs).size).toBe(1);

    await run.through('attest');
    for (const name of ['multi', 'single'])
      for (const dest of everywhere(name)) expect(await formatsAt(world, dest, d[name]!), `${name} ${key(dest)}`).toEqual(['legacy', 'bundle']);
  });

  it('writes only the configured format: legacy `.sig` alone, or bundles alone', async () => {
    for (const format of ['legacy', 'bundle'] as const) {
      const { world, d, run } = await promoted({ format, names: ['single'] });
      await run.through('attest');
      for (const dest of everywhere('single')) {
        expect(await formatsAt(world, dest, d.single!), `${format} ${key(dest)}`).toEqual([format]);
        expect(signatureTag(d.single!) in world.registry.tagsOf(dest), `${format} ${key(dest)}`).toBe(format === 'legacy');
      }
      // The attestation rides in the fallback index where there is no referrers API, whatever the signature format.
      expect(referrersFallbackTag(d.single!) in world.registry.tagsOf(mirrorB('single'))).toBe(true);
    }
  });

  it('an image signed at every destination by this worker is not signed or written again, and costs no request', async () => {
    const { world, run, input } = await promoted();
    await run.through('attest');
    const rerun = await world.run(input).through('promote');
    const from = world.registry.requests.length;
    const writes = world.registry.writes.length;
    const summary = await rerun.exec(rerun.worker.sign, [rerun.afterPromote()]);
    expect(summary).toMatchObject({ signed: 0, alreadySigned: 2, mirrored: 0, manifestsSigned: 0 });
    expect(world.registry.writes.length).toBe(writes);
    // One referrers-API probe per destination host; nothing about any digest.
    expect(world.registry.requests.slice(from).map((r) => r.op)).toEqual(['servesReferrersApi', 'servesReferrersApi', 'servesReferrersApi']);
  });

  it('a write failing on one mirror fails that destination only; the next run writes it there alone, from the archive', async () => {
    const { world, d, run, input } = await promoted({ names: ['single'] });
    world.registry.inject({ op: 'writeSignatures', where: key(mirrorB('single')), fault: new Error('mirror-b.example: 503 Service Unavailable') });
    const summary = (run.sign = await run.exec(run.worker.sign, [run.afterPromote()]));
    expect(summary).toMatchObject({ signed: 1, mirrored: 1, failureCount: 1 });
    const failures = world.doc<ResultDocument<SignSummary>>(summary.resultKey).failures;
    expect(failures).toEqual([
      {
        edge: `${key(mirrorB('single'))}@${d.single}`,
        phase: 'sign',
        code: 'SIGN_FAILED',
        error: 'mirror-b.example: 503 Service Unavailable',
      } satisfies Failure,
    ]);
    expect(world.doc<TagRecord>(tagRecordKey(mirrorB('single').host, mirrorB('single').repository)).signed).toBeUndefined();
    await run.through('attest');
    const archive = world.store.docs.get(signatureArchiveKey(d.single!, `both:${world.signingKey.keyHint}`));

    const rerun = await world.run(input).through('promote');
    const writes = world.registry.writes.length;
    const again = await rerun.exec(rerun.worker.sign, [rerun.afterPromote()]);
    expect(again).toMatchObject({ signed: 0, alreadySigned: 1, mirrored: 1, failureCount: 0 });
    expect(world.registry.writes.slice(writes).map((w) => key(w.repo))).toEqual([key(mirrorB('single'))]);
    expect(world.store.docs.get(signatureArchiveKey(d.single!, `both:${world.signingKey.keyHint}`))).toBe(archive);
    const sigs = await Promise.all(everywhere('single').map((dest) => world.registry.manifestDigest(dest, signatureTag(d.single!))));
    expect(new Set(sigs).size).toBe(1);
    expect(await formatsAt(world, mirrorB('single'), d.single!)).toEqual(['legacy', 'bundle']);
  });

  it('a `.sig` somebody deleted on a mirror is written there again by the next run, and nowhere else', async () => {
    const { world, d, run, input } = await promoted({ names: ['single'] });
    await run.through('attest');
    world.registry.deleteTag(mirrorB('single'), signatureTag(d.single!));
    const rerun = await world.run(input).through('promote');
    const writes = world.registry.writes.length;
    expect(await rerun.exec(rerun.worker.sign, [rerun.afterPromote()])).toMatchObject({ alreadySigned: 1, mirrored: 1 });
    expect(world.registry.writes.slice(writes).map((w) => key(w.repo))).toEqual([key(mirrorB('single'))]);
    expect(await formatsAt(world, mirrorB('single'), d.single!)).toEqual(['legacy', 'bundle']);
  });

  it('nothing is written that was not archived first: S3 refusing the archive fails the image, and no destination gets a signature', async () => {
    const { world, d, run } = await promoted({ names: ['single'] });
    world.store.refuseWrites('signatures/', new Error('S3: 503 Service Unavailable'));
    const writes = world.registry.writes.length;
    const summary = await run.exec(run.worker.sign, [run.afterPromote()]);
    expect(summary).toMatchObject({ signed: 0, mirrored: 0, failureCount: 1 });
    expect(world.doc<ResultDocument<SignSummary>>(summary.resultKey).failures).toEqual([
      { edge: `prod.example/p/single@${d.single}`, phase: 'sign', code: 'SIGN_FAILED', error: 'S3: 503 Service Unavailable' },
    ]);
    expect(world.registry.writes.length).toBe(writes);
    for (const dest of everywhere('single')) expect(await formatsAt(world, dest, d.single!)).toEqual([]);
  });

  it('a Sign cut off mid-way resumes from its checkpoint: settled images are not written again, the cut one gets its archived signatures once', async () => {
    const { world, d, run } = await promoted({ names: ['a', 'b', 'c'] });
    world.registry.inject({ op: 'writeSignatures', where: key(mirrorB('c')), fault: 'hang' });
    const one = run.start(run.worker.sign, [run.afterPromote()]);
    await expect.poll(() => (one.checkpoint as { done?: [number, number][] } | undefined)?.done ?? []).toEqual([[0, 2]]);
    const mark = `both:${world.signingKey.keyHint}`;
    const archive = world.store.docs.get(signatureArchiveKey(d.c!, mark));
    expect(archive).toBeDefined(); // archived before its writes began
    const writes = world.registry.writes.length;

    const summary = (run.sign = await run.exec(world.worker().sign, [run.afterPromote()], { attempt: 2, heartbeat: one.checkpoint }));
    expect(summary).toMatchObject({ signed: 3, mirrored: 6, manifestsSigned: 3, failureCount: 0 });
    expect(new Set(world.registry.writes.slice(writes).map((w) => w.req.subject.digest))).toEqual(new Set([d.c]));
    expect(world.store.docs.get(signatureArchiveKey(d.c!, mark))).toBe(archive);
    await run.through('attest');
    for (const dest of everywhere('c')) {
      const found = await world.registry.findSignatures({ ...dest, digest: d.c! });
      // One signature layer and one signature bundle, not two: the retry wrote the same bytes.
      expect(JSON.parse(found.signature!.bytes.toString()).layers, key(dest)).toHaveLength(1);
      expect(
        found.bundles.filter((b) => b.predicateType === 'https://sigstore.dev/cosign/sign/v1'),
        key(dest),
      ).toHaveLength(1);
      expect(await formatsAt(world, dest, d.c!)).toEqual(['legacy', 'bundle']);
    }
  });

  it("keeps what somebody else added after the Plan: another key's `.sig` layer and a foreign referrer survive Sign and Attest", async () => {
    const { world, d, run } = await promoted({ names: ['single'] });
    const digest = d.single!;
    // After the Plan listed the destinations (no signature tags then), cosign signs with its own
    // key at production and mirror-a, and a build attaches an SBOM in production's fallback index.
    const theirs = p256Pair();
    const theirSet = await new KeySigner(loadSigningKey({ pem: theirs.privatePem }), 'legacy').signImage({ dockerReference: 'prod.example/p/single', digest });
    for (const dest of [prod('single'), mirrorA('single')]) world.registry.appendSignature(dest, digest, legacyLayerOf(theirSet)!);
    const sbom = world.registry.attach(prod('single'), digest, 'application/spdx+json', '{"spdxVersion":"SPDX-2.3"}');

    await run.through('attest');
    const theirTrust = { keys: loadVerificationKeys([theirs.publicPem]) };
    for (const dest of [prod('single'), mirrorA('single')]) {
      expect(world.registry.signatureLayersOf(dest, digest), key(dest)).toHaveLength(2);
      expect((await world.registry.verifySignatures({ ...dest, digest }, theirTrust)).formats, key(dest)).toEqual(['legacy']);
      expect(await formatsAt(world, dest, digest), key(dest)).toEqual(['legacy', 'bundle']);
    }
    // Production's fallback index: the SBOM, our signature bundle, promotion attestation and verification summary.
    const listed = world.registry.referrersOf(prod('single'), digest);
    expect(listed.map((r) => r.digest)).toContain(sbom);
    expect(listed).toHaveLength(4);
  });

  it('another run noting a signed digest in the tag record while this one notes its own: the record keeps both', async () => {
    const { world, d, run } = await promoted({ names: ['single'] });
    const recordKey = tagRecordKey(prod('single').host, prod('single').repository);
    const other = `sha256:${'e'.repeat(64)}`;
    world.store.interleave(recordKey, (docs) => {
      const record = JSON.parse(docs.get(recordKey)!) as TagRecord;
      docs.set(recordKey, JSON.stringify({ ...record, signed: { ...record.signed, [other]: 'both:other' } }));
    });
    await run.exec(run.worker.sign, [run.afterPromote()]);
    expect(world.doc<TagRecord>(recordKey).signed).toEqual({ [other]: 'both:other', [d.single!]: `both:${world.signingKey.keyHint}` });
  });
});
