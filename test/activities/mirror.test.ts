// The nightly signature re-mirroring on the fake registry, after a real promotion: in sync it
// writes nothing and asks one tags/list per repository; a signature missing on a mirror is put
// back from the archive (the primary's bytes, the attestation with it); an image never signed is
// signed now; a report-only run writes nothing and fails; --verify catches a signature replaced
// behind the record.
import { describe, expect, it } from 'vitest';
import type { ArchivedSignatures } from '../../lib/run/documents';
import { signatureArchiveKey, tagRecordKey } from '../../lib/run/storage-keys';
import type { TagRecord } from '../../lib/run/tag-record';
import { loadSigningKey, PROMOTION_PREDICATE_TYPE, VSA_PREDICATE_TYPE, referrersFallbackTag, signatureTag } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { everywhere, mirrorA, mirrorB, project, staging, World } from '../support/activity-world';
import { signInStaging } from '../support/staging-evidence';

const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

/** Two images promoted, signed and attested everywhere by a confirmed run (the last one: the mirror's default bundle). */
async function promotedAndSigned(through: 'attest' | 'promote' = 'attest') {
  const world = new World();
  const d = Object.fromEntries(['app', 'tool'].map((n) => [n, world.registry.putImage(staging(n), n)]));
  const run = await world.run(world.input([project({ images: ['app', 'tool'].map((n) => ({ name: n, dmap: { [d[n]!]: ['v1'] } })) })])).through(through);
  await run.exec(run.worker.writeReport, [run.reportInput()]);
  return { world, d, run };
}

const formatsAt = async (world: World, repo: { host: string; repository: string }, digest: string) =>
  (await world.registry.verifySignatures({ ...repo, digest }, world.trust)).formats;

describe('mirror-signatures', () => {
  it('in sync: nothing written, one tags/list per destination repository and nothing per digest', async () => {
    const { world } = await promotedAndSigned();
    const from = world.registry.requests.length;
    const writes = world.registry.writes.length;
    const report = await world.mirror({ confirm: true });
    expect(report).toMatchObject({ status: 'succeeded', digests: 2, alreadyInSync: 2, signedNow: 0, mirrored: 0, failures: [] });
    expect(world.registry.writes.length).toBe(writes);
    const ops = world.registry.requests.slice(from).map((r) => r.op);
    expect(ops.filter((op) => op === 'listTags')).toHaveLength(6);
    expect(ops.filter((op) => op !== 'listTags' && op !== 'servesReferrersApi')).toEqual([]);
  });

  it('a signature deleted on a mirror: a report-only run fails and writes nothing; a confirmed one puts back the archived bytes there alone', async () => {
    const { world, d } = await promotedAndSigned();
    const tool = mirrorB('tool');
    const primarySig = await world.registry.manifestDigest(everywhere('tool')[0]!, signatureTag(d.tool!));
    world.registry.deleteTag(tool, signatureTag(d.tool!));
    world.registry.deleteTag(tool, referrersFallbackTag(d.tool!));
    expect(await formatsAt(world, tool, d.tool!)).toEqual([]);

    const writes = world.registry.writes.length;
    const docs = world.store.docs.size;
    const check = await world.mirror({ confirm: false });
    expect(check).toMatchObject({ status: 'failed', digests: 2, alreadyInSync: 1, mirrored: 0 });
    expect(check.failures).toEqual([{ edge: `${key(tool)}@${d.tool}`, error: "SIGNATURE_OUT_OF_SYNC: the promoter's signature is missing on this mirror" }]);
    expect(world.registry.writes.length).toBe(writes);
    expect(world.store.docs.size).toBe(docs + 1); // its own report, nothing else

    const repair = await world.mirror({ confirm: true });
    expect(repair).toMatchObject({ status: 'succeeded', alreadyInSync: 1, signedNow: 0, mirrored: 1, failures: [] });
    expect(new Set(world.registry.writes.slice(writes).map((w) => key(w.repo)))).toEqual(new Set([key(tool)]));
    expect(await world.registry.manifestDigest(tool, signatureTag(d.tool!))).toBe(primarySig);
    expect(await formatsAt(world, tool, d.tool!)).toEqual(['legacy', 'bundle']);
    // The promotion attestation and the verification summary share the fallback index: they are back too.
    const found = await world.registry.findSignatures({ ...tool, digest: d.tool! });
    expect(found.bundles.map((b) => b.predicateType).sort()).toEqual(
      [PROMOTION_PREDICATE_TYPE, VSA_PREDICATE_TYPE, 'https://sigstore.dev/cosign/sign/v1'].sort(),
    );
    expect(await world.mirror({ confirm: true })).toMatchObject({ alreadyInSync: 2, mirrored: 0 });
  });

  it('a verification summary and attestation that Attest failed to write on a referrers-API mirror: reported, then put back there alone', async () => {
    const world = new World();
    const d = Object.fromEntries(['app', 'tool'].map((n) => [n, world.registry.putImage(staging(n), n)]));
    const run = await world.run(world.input([project({ images: ['app', 'tool'].map((n) => ({ name: n, dmap: { [d[n]!]: ['v1'] } })) })])).through('sign');
    // Sign wrote the signatures everywhere; Attest cannot write at mirror-a (the referrers API: no fallback index that Sign left to Attest, so its signatures are complete).
    world.registry.inject({ op: 'writeSignatures', where: key(mirrorA('tool')), fault: new Error('mirror-a: 503') });
    await run.through('attest');
    expect(run.attest).toMatchObject({ vsaWritten: 2, failureCount: 1 });
    await run.exec(run.worker.writeReport, [run.reportInput()]);
    const summaries = async (repo: { host: string; repository: string }) =>
      (await world.registry.findSignatures({ ...repo, digest: d.tool! })).bundles.filter((b) => b.predicateType === VSA_PREDICATE_TYPE).length;
    expect(await summaries(mirrorA('tool'))).toBe(0);
    expect(await formatsAt(world, mirrorA('tool'), d.tool!)).toEqual(['legacy', 'bundle']);

    // The run failed (Attest, at mirror-a), so the latest-bundle pointer stayed: its bundle is named.
    const writes = world.registry.writes.length;
    const check = await world.mirror({ confirm: false, bundleKey: run.input.bundleKey });
    expect(check).toMatchObject({ status: 'failed', alreadyInSync: 1 });
    expect(check.failures).toEqual([{ edge: `${key(mirrorA('tool'))}@${d.tool}`, error: expect.stringMatching(/^ATTESTATION_OUT_OF_SYNC: /) }]);
    expect(world.registry.writes.length).toBe(writes);

    const repair = await world.mirror({ confirm: true, bundleKey: run.input.bundleKey });
    expect(repair).toMatchObject({ status: 'succeeded', alreadyInSync: 1, mirrored: 0, attestationsRepaired: 1, failures: [] });
    expect(new Set(world.registry.writes.slice(writes).map((w) => key(w.repo)))).toEqual(new Set([key(mirrorA('tool'))]));
    for (const dest of everywhere('tool')) expect(await summaries(dest), key(dest)).toBe(1);
    const found = await world.registry.findSignatures({ ...mirrorA('tool'), digest: d.tool! });
    expect(found.bundles.map((b) => b.predicateType).sort()).toEqual(
      [PROMOTION_PREDICATE_TYPE, VSA_PREDICATE_TYPE, 'https://sigstore.dev/cosign/sign/v1'].sort(),
    );
    const after = world.registry.writes.length;
    expect(await world.mirror({ confirm: true, bundleKey: run.input.bundleKey })).toMatchObject({ alreadyInSync: 2, attestationsRepaired: 0 });
    expect(world.registry.writes.length).toBe(after);
  });

  it('an image promoted but never signed is signed now, archived first, at every destination', async () => {
    const { world, d } = await promotedAndSigned('promote');
    const mark = `both:${world.signingKey.keyHint}`;
    expect(world.store.docs.has(signatureArchiveKey(d.app!, mark))).toBe(false);
    const report = await world.mirror({ confirm: true });
    expect(report).toMatchObject({ status: 'succeeded', digests: 2, signedNow: 2, mirrored: 6, alreadyInSync: 0 });
    expect(world.doc<ArchivedSignatures>(signatureArchiveKey(d.app!, mark)).manifests.map((m) => m.subject.digest)).toEqual([d.app]);
    for (const name of ['app', 'tool']) {
      for (const dest of everywhere(name)) {
        expect(await formatsAt(world, dest, d[name]!), `${name} ${key(dest)}`).toEqual(['legacy', 'bundle']);
        expect(world.doc<TagRecord>(tagRecordKey(dest.host, dest.repository)).signed).toEqual({ [d[name]!]: mark });
      }
    }
    expect(await world.mirror({ confirm: true })).toMatchObject({ signedNow: 0, mirrored: 0, alreadyInSync: 2 });
  });

  it('an image it cannot archive signatures for is a failure, and nothing of it is written', async () => {
    const { world, d } = await promotedAndSigned('promote');
    world.store.refuseWrites('signatures/', new Error('S3: 503 Service Unavailable'));
    const writes = world.registry.writes.length;
    const report = await world.mirror({ confirm: true });
    expect(report).toMatchObject({ status: 'failed', signedNow: 0, mirrored: 0 });
    expect(report.failures.map((f) => f.edge).sort()).toEqual([`prod.example/p/app@${d.app}`, `prod.example/p/tool@${d.tool}`]);
    expect(report.failures[0]!.error).toBe('SIGN_FAILED: S3: 503 Service Unavailable');
    expect(world.registry.writes.length).toBe(writes);
  });

  it("signs an image never signed only once its project's policies pass: one somebody else put in place unverified stays unsigned", async () => {
    const world = new World();
    const r = world.registry;
    const release = loadSigningKey({ pem: p256Pair().privatePem });
    const d = Object.fromEntries(['vetted', 'byhand'].map((n) => [n, r.putImage(staging(n), n)]));
    await signInStaging(r, staging('vetted'), d.vetted!, release, 'both');
    for (const name of ['vetted', 'byhand']) {
      for (const dest of everywhere(name))
        await r.copy({ project: 'x', image: name, destinationIndex: 0, source: staging(name), destination: dest, digest: d[name]!, tags: ['v1'], edges: 1 });
    }
    const images = ['vetted', 'byhand'].map((n) => ({ name: n, dmap: { [d[n]!]: ['v1'] } }));
    // The promotion's Sign could not archive `vetted`'s signatures (so signed nothing), and Validate blocked `byhand`.
    world.store.refuseWrites('signatures/', new Error('S3: 503 Service Unavailable'), 1);
    const run = await world.run(world.input([project({ images, signatures: { mode: 'require', keys: [release.publicKeyPem] } })])).through('report');
    expect(run.validate).toMatchObject({ passed: 1, blocked: 1 });

    // That run failed, so the latest-bundle pointer does not name it: the bundle is named here.
    const report = await world.mirror({ confirm: true, bundleKey: run.input.bundleKey });
    expect(report).toMatchObject({ status: 'failed', digests: 2, signedNow: 1, mirrored: 3 });
    expect(report.failures).toEqual([{ edge: `prod.example/p/byhand@${d.byhand}`, error: 'BLOCKED: not signed: MISSING demo: no signature found' }]);
    for (const dest of everywhere('vetted')) expect(await formatsAt(world, dest, d.vetted!)).toEqual(['legacy', 'bundle']);
    for (const dest of everywhere('byhand')) expect(await formatsAt(world, dest, d.byhand!)).toEqual([]);
  });

  it('--verify finds a signature replaced behind the record (the tags and record say in sync) and writes ours there', async () => {
    const { world, d } = await promotedAndSigned();
    const tool = mirrorB('tool');
    world.registry.deleteTag(tool, signatureTag(d.tool!));
    await signInStaging(world.registry, tool, d.tool!, loadSigningKey({ pem: p256Pair().privatePem }), 'legacy');
    expect(await formatsAt(world, tool, d.tool!)).toEqual(['bundle']);
    expect(await world.mirror({ confirm: true })).toMatchObject({ alreadyInSync: 2, mirrored: 0 });

    const report = await world.mirror({ confirm: true, verify: true });
    expect(report).toMatchObject({ status: 'succeeded', alreadyInSync: 1, mirrored: 1, signedNow: 0 });
    expect(await formatsAt(world, tool, d.tool!)).toEqual(['legacy', 'bundle']);
  });

  it('no confirmed promotion yet: nothing to check', async () => {
    const world = new World();
    expect(await world.mirror({ confirm: true })).toMatchObject({ status: 'succeeded', bundleKey: '', digests: 0 });
    expect(world.registry.requests).toEqual([]);
  });
});
