// Provenance on the fake registry, with SLSA provenance v1 attestations DSSE-signed by lib/signing:
// each project's policy mode decides its own digests (require blocks, warn reports, off never
// looks), digests with something left to promote and digests in place that the promoter never
// signed are checked, and what is blocked is neither promoted nor signed.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { VerificationDocument } from '../../lib/run/documents';
import { phaseResultKey } from '../../lib/run/storage-keys';
import { loadSigningKey } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { everywhere, project, staging, World } from '../support/activity-world';
import { attachProvenance, BUILDER } from '../support/staging-evidence';

const releaseKey = loadSigningKey({ pem: p256Pair().privatePem });
const strangerKey = loadSigningKey({ pem: p256Pair().privatePem });
const SOURCES = ['git+https://github.com/kubernetes/'];

describe('provenance', () => {
  it('require blocks missing and failing provenance, warn only reports it, off never looks', async () => {
    const world = new World();
    const r = world.registry;
    const d: Record<string, string> = {};
    for (const name of ['good', 'none', 'forged', 'builder', 'source', 'placed', 'warn-good', 'warn-none', 'warn-forged', 'off-forged'])
      d[name] = r.putImage(staging(name), name);
    await attachProvenance(r, staging('good'), d.good!, releaseKey);
    await attachProvenance(r, staging('forged'), d.forged!, strangerKey);
    await attachProvenance(r, staging('builder'), d.builder!, releaseKey, { builder: 'https://ci.example/untrusted' });
    await attachProvenance(r, staging('source'), d.source!, releaseKey, { source: 'git+https://github.com/evil/kubernetes' });
    await attachProvenance(r, staging('warn-good'), d['warn-good']!, releaseKey);
    await attachProvenance(r, staging('warn-forged'), d['warn-forged']!, strangerKey);
    await attachProvenance(r, staging('off-forged'), d['off-forged']!, strangerKey);
    // `placed` is at every destination already, put there by somebody else, with no provenance at all.
    for (const dest of everywhere('placed'))
      await r.copy({
        project: 'x',
        image: 'placed',
        destinationIndex: 0,
        source: staging('placed'),
        destination: dest,
        digest: d.placed!,
        tags: ['v1'],
        edges: 1,
      });

    const images = (names: string[]) => names.map((name) => ({ name, dmap: { [d[name]!]: ['v1'] } }));
    const keys = [releaseKey.publicKeyPem];
    const input = world.input([
      project({
        name: 'strict',
        images: images(['good', 'none', 'forged', 'builder', 'source', 'placed']),
        provenance: { mode: 'require', keys, builders: [BUILDER], sources: SOURCES },
      }),
      project({
        name: 'lenient',
        images: images(['warn-good', 'warn-none', 'warn-forged']),
        provenance: { mode: 'warn', keys, builders: [BUILDER], sources: SOURCES },
      }),
      project({ name: 'unchecked', images: images(['off-forged']), provenance: { mode: 'off', keys } }),
    ]);
    const run = await world.run(input).through('plan');
    const from = r.requests.length;
    const summary = (run.provenance = await run.exec(run.worker.provenance, [run.planRef]));

    expect(summary).toMatchObject({ mode: 'mixed', checked: 9, passed: 2, failed: 4, missing: 3, warnings: 2, blocked: 5, failureCount: 5 });
    const doc = world.doc<VerificationDocument>(phaseResultKey(run.ids.workflowId, run.ids.runId, 'provenance'));
    // The workflow also gets the hash of the stored document, which cannot hold its own.
    const { resultSha256, ...stored } = summary;
    expect(doc.summary).toEqual(stored);
    expect(resultSha256).toBe(createHash('sha256').update(world.store.docs.get(summary.resultKey)!).digest('hex'));
    const byImage = (fs: VerificationDocument['failures']) =>
      Object.fromEntries(fs.map((f) => [f.edge.split('/').at(-1)!.split('@')[0], `${f.code}: ${f.error}`]));
    expect(byImage(doc.failures)).toEqual({
      none: 'MISSING: strict: no provenance found',
      // In place but never signed by the promoter: Sign would sign it, so it is checked like the rest.
      placed: 'MISSING: strict: no provenance found',
      forged: expect.stringMatching(/^VERIFICATION_FAILED: strict: referrer sha256:[0-9a-f]{64}: .*/),
      builder: expect.stringContaining('builder https://ci.example/untrusted is not allowed'),
      source: expect.stringMatching(/VERIFICATION_FAILED: strict: .*git\+https:\/\/github\.com\/evil\/kubernetes is not under an allowed prefix/),
    });
    expect(byImage(doc.warnings)).toEqual({
      'warn-none': 'MISSING: lenient: no provenance found',
      'warn-forged': expect.stringMatching(/^VERIFICATION_FAILED: lenient: /),
    });
    expect(doc.blockedDigests).toEqual([d.none, d.forged, d.builder, d.source, d.placed].sort());
    // Off: not one request about it.
    expect(r.requests.slice(from).map((q) => q.where)).not.toContain(`staging.example/s/off-forged`);

    // What require blocked is never copied; everything else is promoted, warnings included.
    const copiesBefore = r.copies.length;
    await run.through('promote');
    const copied = new Set(r.copies.slice(copiesBefore).map((c) => c.task.image));
    expect([...copied].sort()).toEqual(['good', 'off-forged', 'warn-forged', 'warn-good', 'warn-none']);
    for (const name of ['none', 'forged', 'builder', 'source']) for (const dest of everywhere(name)) expect(r.has(dest, d[name]!), name).toBe(false);
    // And nothing blocked is signed, also where somebody else put it.
    await run.through('attest');
    for (const dest of everywhere('placed')) expect((await r.verifySignatures({ ...dest, digest: d.placed! }, world.trust)).formats).toEqual([]);
    for (const dest of everywhere('good')) expect((await r.verifySignatures({ ...dest, digest: d.good! }, world.trust)).formats).toEqual(['legacy', 'bundle']);
  });

  it('an index without provenance of its own: passes when every child has a passing one, fails when one child fails, is missing when one child has none', async () => {
    const world = new World();
    const r = world.registry;
    const d: Record<string, string> = {};
    for (const name of ['children', 'forgedchild', 'halfdone', 'own']) d[name] = r.putImage(staging(name), name, { platforms: 2 });
    const children = (name: string) => r.childrenOf(staging(name), d[name]!);
    for (const c of children('children')) await attachProvenance(r, staging('children'), c, releaseKey);
    const [good, forged] = children('forgedchild');
    await attachProvenance(r, staging('forgedchild'), good!, releaseKey);
    await attachProvenance(r, staging('forgedchild'), forged!, strangerKey);
    await attachProvenance(r, staging('halfdone'), children('halfdone')[0]!, releaseKey);
    // Provenance of the index itself decides: its children are not asked.
    await attachProvenance(r, staging('own'), d.own!, releaseKey);
    const input = world.input([
      project({
        name: 'strict',
        images: Object.keys(d).map((name) => ({ name, dmap: { [d[name]!]: ['v1'] } })),
        provenance: { mode: 'require', keys: [releaseKey.publicKeyPem], builders: [BUILDER], sources: SOURCES },
      }),
    ]);
    const run = await world.run(input).through('plan');
    const summary = (run.provenance = await run.exec(run.worker.provenance, [run.planRef]));

    expect(summary).toMatchObject({ checked: 4, passed: 2, failed: 1, missing: 1, blocked: 2 });
    const doc = world.doc<VerificationDocument>(phaseResultKey(run.ids.workflowId, run.ids.runId, 'provenance'));
    expect(Object.fromEntries(doc.failures.map((f) => [f.edge.split('/').at(-1)!.split('@')[0], `${f.code}: ${f.error}`]))).toEqual({
      forgedchild: expect.stringContaining(`VERIFICATION_FAILED: strict: index child ${forged}: `),
      halfdone: 'MISSING: strict: no provenance found',
    });
    expect(doc.blockedDigests).toEqual([d.forgedchild, d.halfdone].sort());
  });

  it('provenance found under a policy that names no key to verify it with fails, and a registry error is a failure, not a pass', async () => {
    const world = new World();
    const r = world.registry;
    const a = r.putImage(staging('a'), 'a');
    const b = r.putImage(staging('b'), 'b');
    await attachProvenance(r, staging('a'), a, releaseKey);
    await attachProvenance(r, staging('b'), b, releaseKey);
    r.inject({ op: 'findSignatures', where: 'staging.example/s/b', fault: new Error('staging.example: connection reset') });
    const input = world.input([
      project({ name: 'keyless', images: [{ name: 'a', dmap: { [a]: ['v1'] } }], provenance: { mode: 'require', keys: [] } }),
      project({ name: 'flaky', images: [{ name: 'b', dmap: { [b]: ['v1'] } }], provenance: { mode: 'require', keys: [releaseKey.publicKeyPem] } }),
    ]);
    const run = await world.run(input).through('plan');
    const summary = (run.provenance = await run.exec(run.worker.provenance, [run.planRef]));
    expect(summary).toMatchObject({ mode: 'require', checked: 2, passed: 0, failed: 2, blocked: 2 });
    const doc = world.doc<VerificationDocument>(summary.resultKey);
    expect(doc.failures.map((f) => f.error).sort()).toEqual([
      'flaky: could not verify: staging.example: connection reset',
      'keyless: provenance found, but the policy names no keys or identities to verify it with',
    ]);
  });

  it('a retry after an attempt that wrote its result returns that result and checks nothing again', async () => {
    const world = new World();
    const a = world.registry.putImage(staging('a'), 'a');
    const input = world.input([project({ images: [{ name: 'a', dmap: { [a]: ['v1'] } }], provenance: { mode: 'require', keys: [releaseKey.publicKeyPem] } })]);
    const run = await world.run(input).through('plan');
    const first = await run.exec(run.worker.provenance, [run.planRef]);
    const from = world.registry.requests.length;
    expect(await run.exec(world.worker().provenance, [run.planRef], { attempt: 2 })).toEqual(first);
    expect(world.registry.requests.length).toBe(from);
  });
});
