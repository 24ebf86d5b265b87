// What the worker reads back from the audit store by hash is what was written: a bundle, plan or
// verification result altered in the bucket is refused for good (InvalidInput, not retried), with
// the key and the hash named, and nothing is promoted or signed. A bundle whose hash matches but
// that the CLI would refuse (written by hand) is refused with the CLI's rules.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { bundleSha256, canonicalJson, type ManifestBundle } from '../../lib/manifests';
import type { VerificationDocument } from '../../lib/run/documents';
import { bundleKey, LATEST_BUNDLE_KEY } from '../../lib/run/storage-keys';
import { loadSigningKey } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { emptySummary } from '../../workflows/promote-batches';
import { everywhere, project, staging, World } from '../support/activity-world';

const releaseKey = loadSigningKey({ pem: p256Pair().privatePem });

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

/** Staging holds `unsigned`; the project requires signatures, so Validate blocks it. */
function arrange() {
  const world = new World();
  const digest = world.registry.putImage(staging('unsigned'), 'unsigned');
  const input = world.input([
    project({ images: [{ name: 'unsigned', dmap: { [digest]: ['v1'] } }], signatures: { mode: 'require', keys: [releaseKey.publicKeyPem] } }),
  ]);
  return { world, digest, input };
}

/** Rewrites a stored JSON document in place, as somebody with write access to the bucket could. */
function tamper<T>(world: World, key: string, change: (doc: T) => void): void {
  const doc = world.doc<T>(key);
  change(doc);
  world.store.docs.set(key, JSON.stringify(doc));
}

const runsWritten = (world: World) => [...world.store.docs.keys()].filter((k) => k.startsWith('runs/'));

describe('documents read back by hash', () => {
  it('a bundle altered in S3 (require turned off) is refused by Setup, naming the key and the hash; nothing is written', async () => {
    const { world, input } = arrange();
    tamper<ManifestBundle>(world, input.bundleKey, (b) => (b.projects[0]!.signatures.mode = 'off'));
    const run = world.run(input);
    const err = await failure(run.exec(run.worker.setup, [input]));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toMatch(new RegExp(`^manifest bundle ${input.bundleKey}: content hashes to [0-9a-f]{64}, which does not match ${input.bundleSha256}$`));
    expect(runsWritten(world)).toEqual([]);
    expect(world.registry.requests).toEqual([]);
  });

  it("a bundle that hashes right but breaks the CLI's rules (written by hand) is refused with them", async () => {
    const world = new World();
    const digest = world.registry.putImage(staging('app'), 'app');
    const bundle = {
      version: 1,
      projects: [
        project({ images: [{ name: 'app', dmap: { [digest]: ['v1'] } }] }),
        project({ name: 'aaa', images: [{ name: 'app', dmap: { [digest]: ['v2'] } }] }),
      ],
    } as ManifestBundle;
    const sha = bundleSha256(bundle);
    world.store.docs.set(bundleKey(sha), canonicalJson(bundle));
    const input = { bundleKey: bundleKey(sha), bundleSha256: sha, confirm: true, options: world.input([]).options, origin: 'test' };
    const run = world.run(input);
    const err = await failure(run.exec(run.worker.setup, [input]));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toBe(`manifest bundle ${input.bundleKey}: invalid manifest bundle: projects[1] (aaa): projects must be sorted by name, each name once`);
    expect(runsWritten(world)).toEqual([]);
  });

  it('a plan altered after Plan wrote it is refused for good by the phases after it', async () => {
    const { world, input } = arrange();
    const run = await world.run(input).through('plan');
    tamper<{ version: number }>(world, run.plan!.plan.key, (p) => (p.version = p.version + 0.5));
    const err = await failure(run.exec(run.worker.validate, [run.planRef]));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toBe(`${run.plan!.plan.key}: content does not match sha256 ${run.plan!.plan.sha256}`);
  });

  it('blocked digests emptied in the stored Validate result: Promote and Sign refuse it, nothing is copied or signed', async () => {
    const { world, digest } = arrange();
    const input = world.input([
      project({ images: [{ name: 'unsigned', dmap: { [digest]: ['v1'] } }], signatures: { mode: 'require', keys: [releaseKey.publicKeyPem] } }),
    ]);
    const run = await world.run(input).through('validate');
    expect(run.validate).toMatchObject({ blocked: 1, resultSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    tamper<VerificationDocument>(world, run.validate!.resultKey, (d) => (d.blockedDigests = []));
    const verification = [run.provenance!, run.validate!].map((v) => ({ key: v.resultKey, sha256: v.resultSha256! }));

    const promote = await failure(run.exec(run.worker.promoteBatch, [{ ...run.batchArgs(0), verification }]));
    expect(promote).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(promote.message).toContain(`${run.validate!.resultKey}: `);
    expect(promote.message).toContain(`does not match sha256 ${run.validate!.resultSha256}`);
    expect(world.registry.copies).toEqual([]);

    // Somebody copies it into place by hand; Sign must not sign it on the altered word either.
    for (const dest of everywhere('unsigned'))
      await world.registry.copy({
        project: 'x',
        image: 'unsigned',
        destinationIndex: 0,
        source: staging('unsigned'),
        destination: dest,
        digest,
        tags: ['v1'],
        edges: 1,
      });
    run.promote = emptySummary();
    const sign = await failure(run.exec(run.worker.sign, [{ ...run.afterPromote(), verification }]));
    expect(sign).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    for (const dest of everywhere('unsigned')) expect((await world.registry.verifySignatures({ ...dest, digest }, world.trust)).formats).toEqual([]);
  });

  it('the nightly re-mirroring refuses an altered bundle the latest-bundle pointer names, and a bundle key that is no content address', async () => {
    const { world, input } = arrange();
    world.store.docs.set(
      LATEST_BUNDLE_KEY,
      JSON.stringify({
        bundleKey: input.bundleKey,
        bundleSha256: input.bundleSha256,
        workflowId: 'w',
        runId: 'r',
        startedAt: '2026-01-01T00:00:00Z',
        at: '2026-01-01T00:01:00Z',
      }),
    );
    tamper<ManifestBundle>(world, input.bundleKey, (b) => (b.projects[0]!.signatures.mode = 'off'));
    const err = await failure(world.mirror({ confirm: true }));
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(err.message).toContain(`manifest bundle ${input.bundleKey}: content hashes to`);

    const other = 'f'.repeat(64);
    world.store.docs.set(LATEST_BUNDLE_KEY, JSON.stringify({ ...world.doc<object>(LATEST_BUNDLE_KEY), bundleSha256: other }));
    const pointer = await failure(world.mirror({ confirm: true }));
    expect(pointer.message).toBe(`${LATEST_BUNDLE_KEY} names ${input.bundleKey} with sha256 ${other}, which it does not have`);

    world.store.docs.set('inputs/hand-written.json', world.store.docs.get(input.bundleKey)!);
    const named = await failure(world.mirror({ confirm: true, bundleKey: 'inputs/hand-written.json' }));
    expect(named.message).toBe("manifest bundle inputs/hand-written.json: not a bundle's content address (inputs/<sha256>.json)");
    expect(world.registry.writes).toEqual([]);
    expect([...world.store.docs.keys()].filter((k) => k.startsWith('signatures/'))).toEqual([]);
  });
});
