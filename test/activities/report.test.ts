// The report on the fake registry, from the result documents a real run of the phases wrote:
// every number of the report contract (README, "Report") and every failure with its phase and
// code, a dry run's status, a fatal phase, the cap on the failures returned, and a retry that
// returns the stored report.
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../client/format';
import { copyTasks } from '../../lib/run/plan';
import type { Plan } from '../../lib/run/plan-format';
import { MAX_FAILURES_STORED, type RunReport } from '../../lib/run/report';
import type { Failure } from '../../lib/run/outcomes';
import { LATEST_BUNDLE_KEY, promoteBatchKey, reportKey } from '../../lib/run/storage-keys';
import { loadSigningKey } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { everywhere, mirrorA, prod, project, staging, World } from '../support/activity-world';
import { signInStaging } from '../support/staging-evidence';

const releaseKey = loadSigningKey({ pem: p256Pair().privatePem });
const LOST = `sha256:${'0'.repeat(64)}`;

describe('report', () => {
  it('adds up what every phase wrote: promoted, in place, lost, tag moves, blocked, a batch that failed for good, a failed signature', async () => {
    const world = new World();
    const r = world.registry;
    const d: Record<string, string> = {};
    for (const name of ['ok', 'present', 'moved', 'unsigned']) d[name] = r.putImage(staging(name), name);
    for (const name of ['ok', 'present', 'moved']) await signInStaging(r, staging(name), d[name]!, releaseKey, 'both');
    for (const dest of everywhere('present'))
      await r.copy({
        project: 'x',
        image: 'present',
        destinationIndex: 0,
        source: staging('present'),
        destination: dest,
        digest: d.present!,
        tags: ['v1'],
        edges: 1,
      });
    const other = r.putImage(staging('other'), 'other');
    await r.copy({
      project: 'x',
      image: 'other',
      destinationIndex: 0,
      source: staging('other'),
      destination: prod('moved'),
      digest: other,
      tags: ['v1'],
      edges: 1,
    });
    const images = ['ok', 'present', 'moved', 'unsigned']
      .map((name) => ({ name, dmap: { [d[name]!]: ['v1'] } }))
      .concat([{ name: 'lost', dmap: { [LOST]: ['v1'] } }]);
    const input = world.input([project({ images, signatures: { mode: 'require', keys: [releaseKey.publicKeyPem] } })], {
      options: { batchSize: 1, parallelBatches: 1 },
    });
    const run = world.run(input);
    // S3 refuses the fourth batch's result for good: that batch fails, the others go on.
    world.store.refuseWrites(promoteBatchKey(run.ids.workflowId, run.ids.runId, 3), new Error('S3: 503 Service Unavailable'));
    r.inject({ op: 'writeSignatures', where: `${mirrorA('ok').host}/${mirrorA('ok').repository}`, fault: new Error('mirror-a.example: denied') });
    await run.through('report');
    const report = run.report!;

    const plan = world.doc<Plan>(run.plan!.plan.key);
    const tasks = copyTasks(plan, new Set([d.unsigned!]));
    expect(tasks).toHaveLength(5); // ok x3, moved x2 (its production tag moved)
    const failedTask = tasks[3]!;
    expect(report.status).toBe('failed');
    expect(report.edges).toEqual({ total: 15, toPromote: 8, promoted: 4, alreadyPresent: 3, failed: 8, lost: 3, tagMoves: 1, overlaps: 0 });
    // `present` too: in place, never signed by the promoter, so checked before Sign signs it.
    expect(report.signaturesVerified).toMatchObject({ mode: 'require', checked: 4, passed: 3, missing: 1, failed: 0, blocked: 1 });
    expect(report.provenance).toMatchObject({ mode: 'warn', checked: 4, missing: 4, warnings: 4, blocked: 0 });
    // ok (not on mirror-a), moved (where it was placed), and present (in place, never signed by the promoter).
    expect(report.signatures).toEqual({ signed: 3, alreadySigned: 0, mirrored: 3, manifestsSigned: 3 });
    expect(report.attestations).toEqual({ written: 2, alreadyPresent: 0, vsaWritten: 2, vsaAlreadyPresent: 0 });
    expect(report.transfer).toMatchObject({ blobsUploaded: 8, manifestsWritten: 4 }); // four copies that reported, two blobs each
    const byCode = (code: string) =>
      report.failures
        .filter((f) => f.code === code)
        .map((f) => `${f.phase} ${f.edge}`)
        .sort();
    expect(byCode('LOST')).toEqual(
      everywhere('lost')
        .map((x) => `plan ${x.host}/${x.repository}:v1@${LOST}`)
        .sort(),
    );
    expect(byCode('TAG_MOVE')).toEqual([`plan prod.example/p/moved:v1@${d.moved}`]);
    expect(byCode('MISSING')).toEqual([`validate staging.example/s/unsigned@${d.unsigned}`]);
    expect(byCode('BATCH_FAILED')).toEqual([`promote ${failedTask.destination.host}/${failedTask.destination.repository}:v1@${failedTask.digest}`]);
    expect(byCode('SIGN_FAILED')).toEqual([`sign mirror-a.example/p/ok@${d.ok}`]);
    expect(report.failures.filter((f) => f.phase === 'provenance')).toEqual([]); // warnings are not failures
    expect(report.failureCount).toBe(report.failures.length);
    expect(report.failures).toHaveLength(3 + 1 + 1 + 1 + 1);

    expect(report.audit).toMatchObject({
      bucket: 'memory',
      bundleKey: input.bundleKey,
      planKey: run.plan!.plan.key,
      reportKey: reportKey(run.ids.workflowId, run.ids.runId),
    });
    // Provenance, Validate, seven batch results (the plan counted eight tasks, blocking left five: the
    // last three batches are empty; the fourth wrote nothing), Sign, Attest.
    expect(report.audit.resultKeys).toHaveLength(2 + 7 + 1 + 1);
    expect(world.doc<RunReport>(report.audit.reportKey!)).toEqual(report);
    // A failed run leaves the nightly re-mirroring on the last one that succeeded (here: none).
    expect(world.store.docs.has(LATEST_BUNDLE_KEY)).toBe(false);
  });

  it('a run where everything went well succeeds; the retried report returns the stored one unchanged', async () => {
    const world = new World();
    const app = world.registry.putImage(staging('app'), 'app');
    const run = await world.run(world.input([project({ images: [{ name: 'app', dmap: { [app]: ['v1'] } }] })])).through('report');
    expect(run.report).toMatchObject({
      status: 'succeeded',
      dryRun: false,
      failureCount: 0,
      edges: { total: 3, promoted: 3, failed: 0 },
      signatures: { signed: 1, mirrored: 2 },
    });
    const stored = world.store.docs.get(run.report!.audit.reportKey!);
    const again = await run.exec(world.worker().writeReport, [run.reportInput({ phases: { ...run.phases, setup: { status: 'failed' } } })], { attempt: 2 });
    expect(again).toEqual(run.report);
    expect(world.store.docs.get(run.report!.audit.reportKey!)).toBe(stored);
  });

  it('a phase that failed as a whole fails the run, first in the failures; a dry run is dry-run and leaves the latest promotion alone', async () => {
    const world = new World();
    const app = world.registry.putImage(staging('app'), 'app');
    const images = [{ name: 'app', dmap: { [app]: ['v1'] } }];
    const fatal = world.run(world.input([project({ images })]));
    world.registry.inject({ op: 'listTags', fault: new Error('prod.example: connection refused'), times: Infinity });
    await fatal.through('setup');
    const error = await fatal.exec(fatal.worker.plan, [fatal.input]).then(
      () => 'no error',
      (e: Error) => e.message,
    );
    const report = await fatal.exec(fatal.worker.writeReport, [fatal.reportInput({ fatal: { phase: 'plan', error } })]);
    expect(report).toMatchObject({ status: 'failed', edges: { total: 0, failed: 0 } });
    expect(report.failures[0]).toEqual({ edge: '*', phase: 'plan', code: 'PHASE_FAILED', error: 'prod.example: connection refused' });
    expect(world.store.docs.has(LATEST_BUNDLE_KEY)).toBe(false);

    const healthy = new World();
    const dry = await healthy
      .run(healthy.input([project({ images: [{ name: 'app', dmap: { [healthy.registry.putImage(staging('app'), 'app')]: ['v1'] } }] })], { confirm: false }))
      .through('report');
    expect(dry.report).toMatchObject({ status: 'dry-run', dryRun: true, edges: { total: 3, toPromote: 3, promoted: 0, failed: 0 } });
    expect(dry.report!.phases.promote).toEqual({ status: 'skipped', summary: 'dry run' });
    expect(healthy.store.docs.has(LATEST_BUNDLE_KEY)).toBe(false);
  });

  it('returns at most 500 failures; the stored report has every one', async () => {
    const world = new World();
    // 167 digests staging never had, to three destinations: 501 LOST edges.
    const dmap = Object.fromEntries(Array.from({ length: 167 }, (_, i) => [`sha256:${i.toString(16).padStart(64, '0')}`, [`v${i}`]]));
    const run = await world.run(world.input([project({ images: [{ name: 'gone', dmap }] })], { confirm: false })).through('report');
    expect(run.report!.failures).toHaveLength(500);
    expect(run.report!.failureCount).toBe(501);
    expect(run.report!.failuresByCode).toEqual({ LOST: 501 });
    const stored = world.doc<RunReport>(run.report!.audit.reportKey!);
    expect(stored.failures).toHaveLength(501);
    expect(stored.audit.failureKeys).toBeUndefined();
    expect(stored.edges).toMatchObject({ total: 501, lost: 501, failed: 501 });
  });

  it('a run with more failures than the stored report lists has every one in parts beside it, each written once', async () => {
    const world = new World();
    // 7,001 digests staging never had, to three destinations: 21,003 LOST edges, and a digest signed nowhere.
    const dmap = Object.fromEntries(Array.from({ length: 7001 }, (_, i) => [`sha256:${i.toString(16).padStart(64, '0')}`, [`v${i}`]]));
    const unsigned = world.registry.putImage(staging('unsigned'), 'unsigned');
    const images = [
      { name: 'gone', dmap },
      { name: 'unsigned', dmap: { [unsigned]: ['v1'] } },
    ];
    const input = world.input([project({ images, signatures: { mode: 'require', keys: [releaseKey.publicKeyPem] } })], { confirm: false });
    const run = await world.run(input).through('report');
    const stored = world.doc<RunReport>(run.report!.audit.reportKey!);
    expect(stored.failureCount).toBe(21_004);
    expect(stored.failuresByCode).toEqual({ LOST: 21_003, MISSING: 1 });
    expect(stored.failures).toHaveLength(MAX_FAILURES_STORED);
    const parts = stored.audit.failureKeys!.map((k) => world.doc<{ failures: Failure[] }>(k).failures);
    expect(parts.map((p) => p.length)).toEqual([10_000, 10_000, 1_004]);
    expect(parts[0]).toEqual(stored.failures);
    const all = parts.flat();
    expect(new Set(all.map((f) => `${f.code} ${f.edge}`)).size).toBe(21_004);
    expect(all.at(-1)).toMatchObject({ phase: 'validate', code: 'MISSING', edge: `staging.example/s/unsigned@${unsigned}` });
    // What `promoter report` prints of it.
    const printed = formatReport(stored).split('\n');
    expect(printed).toContain('failures (21004: LOST 21003, MISSING 1):');
    expect(printed).toContain('  ... 20984 more in its 3 failure parts (audit.failureKeys)');
    const lostEdges = all.filter((f) => f.code === 'LOST').map((f) => f.edge);
    expect(lostEdges).toContain(`${prod('gone').host}/${prod('gone').repository}:v7000@sha256:${(7000).toString(16).padStart(64, '0')}`);

    // A retried report (its first attempt died after the parts) rewrites none of them and lists the same.
    const before = stored.audit.failureKeys!.map((k) => world.store.docs.get(k));
    world.store.docs.delete(run.report!.audit.reportKey!);
    const again = await run.exec(world.worker().writeReport, [run.reportInput()], { attempt: 2 });
    expect(again.failureCount).toBe(21_004);
    stored.audit.failureKeys!.forEach((k, i) => expect(world.store.docs.get(k)).toBe(before[i]));
    expect(world.doc<RunReport>(run.report!.audit.reportKey!).failures).toEqual(stored.failures);
  });

  describe('the latest-bundle pointer', () => {
    type Pointer = { bundleKey: string; runId: string; startedAt: string };
    /** A confirmed run of its own manifests (one image each) through Attest, and its report written as started at `startedAt`. */
    async function confirmed(world: World, name: string, startedAt: string, opts: { fail?: boolean } = {}) {
      const digest = world.registry.putImage(staging(name), name);
      const signatures = opts.fail ? { mode: 'require' as const, keys: [releaseKey.publicKeyPem] } : {};
      const run = await world.run(world.input([project({ name, images: [{ name, dmap: { [digest]: ['v1'] } }], signatures })])).through('attest');
      return { run, report: () => run.exec(run.worker.writeReport, [run.reportInput({ startedAt })]) };
    }
    const pointer = (world: World) => world.doc<Pointer>(LATEST_BUNDLE_KEY);

    it('moves forward only: a run started earlier that finishes later leaves it on the newer one', async () => {
      const world = new World();
      const older = await confirmed(world, 'older', '2026-01-01T00:00:00Z');
      const newer = await confirmed(world, 'newer', '2026-01-01T00:05:00Z');
      expect((await newer.report()).status).toBe('succeeded');
      expect(pointer(world)).toMatchObject({ bundleKey: newer.run.input.bundleKey, runId: newer.run.ids.runId, startedAt: '2026-01-01T00:05:00Z' });
      expect((await older.report()).status).toBe('succeeded');
      expect(pointer(world)).toMatchObject({ runId: newer.run.ids.runId });
      const later = await confirmed(world, 'later', '2026-01-01T00:10:00Z');
      await later.report();
      expect(pointer(world)).toMatchObject({ bundleKey: later.run.input.bundleKey, runId: later.run.ids.runId });
    });

    it('a failed confirmed run, however new, and a dry run never move it', async () => {
      const world = new World();
      const good = await confirmed(world, 'good', '2026-01-01T00:00:00Z');
      await good.report();
      const bad = await confirmed(world, 'bad', '2026-01-02T00:00:00Z', { fail: true });
      expect((await bad.report()).status).toBe('failed');
      const digest = world.registry.putImage(staging('dry'), 'dry');
      const dry = await world
        .run(world.input([project({ name: 'dry', images: [{ name: 'dry', dmap: { [digest]: ['v1'] } }] })], { confirm: false }))
        .through('validate');
      expect((await dry.exec(dry.worker.writeReport, [dry.reportInput({ startedAt: '2026-01-03T00:00:00Z' })])).status).toBe('dry-run');
      expect(pointer(world)).toMatchObject({ bundleKey: good.run.input.bundleKey, runId: good.run.ids.runId });
    });

    it('a newer run that moves it between our read and our write wins: the replace is conditional, and the re-read sees it', async () => {
      const world = new World();
      const older = await confirmed(world, 'older', '2026-01-01T00:00:00Z');
      const newer = await confirmed(world, 'newer', '2026-01-01T00:05:00Z');
      const store = world.store;
      const read = store.readJsonVersioned.bind(store);
      let raced = false;
      store.readJsonVersioned = async <T>(key: string) => {
        const got = await read<T>(key);
        if (key === LATEST_BUNDLE_KEY && !raced) {
          raced = true;
          await newer.report();
        }
        return got;
      };
      await older.report();
      expect(raced).toBe(true);
      expect(pointer(world)).toMatchObject({ runId: newer.run.ids.runId });
    });
  });
});
