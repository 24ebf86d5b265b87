// Attest on the fake registry: one signed in-toto promotion statement per digest this run
// promoted, archived in S3 before it is attached, at the primary and both mirrors (next to Sign's
// bundle in the fallback index where there is no referrers API), verifying with the real
// verifier; a retry attaches the statement it archived, never a second one.
import { describe, expect, it } from 'vitest';
import type { ArchivedAttestation, AttestationList, ResultDocument } from '../../lib/run/documents';
import type { AttestSummary } from '../../lib/run/outcomes';
import { attestationKey, attestationListKey, verificationSummaryKey } from '../../lib/run/storage-keys';
import { PROMOTION_PREDICATE_TYPE, referrersFallbackTag, verifyBundle, type PromotionPredicate, type Statement } from '../../lib/signing';
import { everywhere, mirrorB, prod, project, staging, World } from '../support/activity-world';

const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

async function signed(names: string[]) {
  const world = new World();
  const d = Object.fromEntries(names.map((n) => [n, world.registry.putImage(staging(n), n)]));
  const input = world.input([project({ images: names.map((n) => ({ name: n, dmap: { [d[n]!]: ['v1', 'stable'] } })) })]);
  const run = await world.run(input).through('sign');
  return { world, d, run, input };
}

/** The promotion attestations a client finds at `repo` for `digest`, verified with the worker's key. */
async function attestations(world: World, repo: { host: string; repository: string }, digest: string) {
  const found = await world.registry.findSignatures({ ...repo, digest });
  return found.bundles
    .filter((b) => b.predicateType === PROMOTION_PREDICATE_TYPE)
    .map((b) => verifyBundle(b.bundle, { ...world.trust, expectedDigest: digest, predicateType: PROMOTION_PREDICATE_TYPE }));
}

describe('attest', () => {
  it('attaches one verifying promotion statement per promoted digest at every destination, archived and listed in S3', async () => {
    const { world, d, run } = await signed(['app']);
    const summary = (run.attest = await run.exec(run.worker.attest, [run.afterPromote()]));
    expect(summary).toMatchObject({ written: 1, alreadyPresent: 0, failureCount: 0 });
    expect(world.doc<ResultDocument<AttestSummary>>(summary.resultKey)).toEqual({ summary, failures: [] });

    const archiveKey = attestationKey(run.ids.workflowId, run.ids.runId, 'app', d.app!);
    const archived = world.doc<ArchivedAttestation>(archiveKey);
    const statement = archived.statement as Statement<PromotionPredicate>;
    expect(statement.subject).toEqual([{ name: key(prod('app')), digest: { sha256: d.app!.slice(7) } }]);
    expect(statement.predicate).toMatchObject({
      source: { ref: `${key(staging('app'))}@${d.app}` },
      run: { id: `${run.ids.workflowId}/${run.ids.runId}` },
      builder: { id: 'https://github.com/promoter/promoter/worker@v1' },
    });
    expect(statement.predicate.destinations.map((x) => x.ref)).toEqual(
      everywhere('app').flatMap((r) => [`${key(r)}@${d.app}`, `${key(r)}:v1`, `${key(r)}:stable`]),
    );
    // The verification summary is archived and listed beside it (the nightly repair reads the list).
    expect(world.doc<AttestationList>(attestationListKey('app', d.app!))).toEqual({
      keys: [archiveKey, verificationSummaryKey(run.ids.workflowId, run.ids.runId, 'app', d.app!)],
    });

    for (const dest of everywhere('app')) {
      const found = await attestations(world, dest, d.app!);
      expect(
        found.map((v) => v.ok),
        key(dest),
      ).toEqual([true]);
      expect(found[0]!.statement).toEqual(statement);
    }
    // Where there is no referrers API, the fallback index lists the signature, the attestation and the summary.
    for (const dest of [prod('app'), mirrorB('app')]) expect(world.registry.referrersOf(dest, d.app!), key(dest)).toHaveLength(3);
    expect(referrersFallbackTag(d.app!) in world.registry.tagsOf(prod('app'))).toBe(true);
  });

  it('a retry after a crash mid-Attest attaches the statement the first attempt archived: still one attestation everywhere', async () => {
    const { world, d, run } = await signed(['app']);
    world.registry.inject({ op: 'writeSignatures', where: key(mirrorB('app')), fault: 'hang' });
    const one = run.start(run.worker.attest, [run.afterPromote()]);
    await expect.poll(() => world.registry.writes.filter((w) => key(w.repo) === key(mirrorB('app')) && w.req.attestations).length).toBe(1);
    const archiveKey = attestationKey(run.ids.workflowId, run.ids.runId, 'app', d.app!);
    const archived = world.store.docs.get(archiveKey);
    expect(archived).toBeDefined();
    await expect.poll(async () => (await attestations(world, prod('app'), d.app!)).length).toBe(1);

    // No checkpoint settled the image: attempt 2 starts it over. A statement signed anew would differ
    // (another time, another ECDSA signature) and show up as a second attestation.
    const summary = await run.exec(world.worker().attest, [run.afterPromote()], { attempt: 2, heartbeat: one.checkpoint });
    // The statement counts as found archived, made by the attempt before: not a second one.
    expect(summary).toMatchObject({ written: 0, alreadyPresent: 1, vsaWritten: 0, vsaAlreadyPresent: 1, failureCount: 0 });
    expect(world.store.docs.get(archiveKey)).toBe(archived);
    const statement = JSON.parse(archived!).statement as unknown;
    for (const dest of everywhere('app')) {
      const found = await attestations(world, dest, d.app!);
      expect(
        found.map((v) => v.ok),
        key(dest),
      ).toEqual([true]);
      expect(found[0]!.statement).toEqual(statement);
    }
    expect(world.doc<AttestationList>(attestationListKey('app', d.app!))).toEqual({
      keys: [archiveKey, verificationSummaryKey(run.ids.workflowId, run.ids.runId, 'app', d.app!)],
    });
  });

  it('nothing is attached that was not archived first: S3 refusing the archive fails the image, no destination gets a statement', async () => {
    const { world, d, run } = await signed(['app']);
    world.store.refuseWrites(`runs/${run.ids.workflowId}/${run.ids.runId}/attestations/`, new Error('S3: 503 Service Unavailable'));
    const summary = await run.exec(run.worker.attest, [run.afterPromote()]);
    expect(summary).toMatchObject({ written: 0, alreadyPresent: 0, failureCount: 1 });
    expect(world.doc<ResultDocument<AttestSummary>>(summary.resultKey).failures).toEqual([
      { edge: `prod.example/p/app@${d.app}`, phase: 'attest', code: 'ATTEST_FAILED', error: 'S3: 503 Service Unavailable' },
    ]);
    for (const dest of everywhere('app')) expect(await attestations(world, dest, d.app!), key(dest)).toEqual([]);
  });

  it('attests only what this run promoted: a rerun with everything in place attests nothing', async () => {
    const { world, input, run } = await signed(['app']);
    await run.through('attest');
    const rerun = await world.run(input).through('sign');
    const writes = world.registry.writes.length;
    expect(await rerun.exec(rerun.worker.attest, [rerun.afterPromote()])).toMatchObject({ written: 0, alreadyPresent: 0 });
    expect(world.registry.writes.length).toBe(writes);
  });

  it('a destination that refuses the attestation fails there only (ATTEST_FAILED), the others carry it', async () => {
    const { world, d, run } = await signed(['app']);
    world.registry.inject({ op: 'writeSignatures', where: 'mirror-a.example', fault: new Error('mirror-a.example: denied') });
    const summary = await run.exec(run.worker.attest, [run.afterPromote()]);
    expect(summary).toMatchObject({ written: 1, failureCount: 1 });
    expect(world.doc<ResultDocument<AttestSummary>>(summary.resultKey).failures).toEqual([
      { edge: `mirror-a.example/p/app@${d.app}`, phase: 'attest', code: 'ATTEST_FAILED', error: 'mirror-a.example: denied' },
    ]);
    expect(await attestations(world, prod('app'), d.app!)).toHaveLength(1);
    expect(await attestations(world, mirrorB('app'), d.app!)).toHaveLength(1);
  });

  it('another run listing its attestation of the same image while this one lists its own: the list keeps both', async () => {
    const { world, d, run } = await signed(['app']);
    const listKey = attestationListKey('app', d.app!);
    const theirs = 'runs/other-workflow/other-run/attestations/app/x.json';
    world.store.interleave(listKey, (docs) =>
      docs.set(listKey, JSON.stringify({ keys: [...(JSON.parse(docs.get(listKey) ?? '{"keys":[]}') as AttestationList).keys, theirs] })),
    );
    await run.exec(run.worker.attest, [run.afterPromote()]);
    // Ours are the promotion attestation and the verification summary.
    const ours = [attestationKey(run.ids.workflowId, run.ids.runId, 'app', d.app!), verificationSummaryKey(run.ids.workflowId, run.ids.runId, 'app', d.app!)];
    expect(world.doc<AttestationList>(listKey).keys.sort()).toEqual([...ours, theirs].sort());
  });
});
