// Several projects naming one staging digest: each project's policy judges its own edges, and a
// digest is blocked (promoted nowhere, signed nowhere) when any project naming it is not
// satisfied. Project `aaa` listing `zzz`'s digest with `mode: off` cannot switch off `zzz`'s
// `require`; projects with identical policies share one check (no extra registry requests).
import { describe, expect, it } from 'vitest';
import type { VerificationDocument } from '../../lib/run/documents';
import { loadSigningKey } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { everywhere, project, staging, World } from '../support/activity-world';
import { attachProvenance, BUILDER, signInStaging } from '../support/staging-evidence';

const releaseKey = loadSigningKey({ pem: p256Pair().privatePem });
const keys = [releaseKey.publicKeyPem];
const SOURCES = ['git+https://github.com/kubernetes/'];

/** Staging holds `shared` (unsigned, no provenance) and `own` (aaa's alone, likewise bare). */
function arrange() {
  const world = new World();
  const d = { shared: world.registry.putImage(staging('shared'), 'shared'), own: world.registry.putImage(staging('own'), 'own') };
  return { world, d };
}

const signedAnywhere = async (world: World, image: string, digest: string) => {
  const formats = await Promise.all(everywhere(image).map(async (dest) => (await world.registry.verifySignatures({ ...dest, digest }, world.trust)).formats));
  return formats.some((f) => f.length > 0);
};

describe('per-project policies on a shared digest', () => {
  it('signatures: aaa off does not switch off zzz require; the digest is promoted and signed nowhere, aaa alone promotes its own', async () => {
    const { world, d } = arrange();
    const input = world.input([
      project({
        name: 'aaa',
        images: [
          { name: 'shared', dmap: { [d.shared]: ['aaa-v1'] } },
          { name: 'own', dmap: { [d.own]: ['v1'] } },
        ],
        signatures: { mode: 'off' },
      }),
      project({ name: 'zzz', images: [{ name: 'shared', dmap: { [d.shared]: ['zzz-v1'] } }], signatures: { mode: 'require', keys } }),
    ]);
    const run = await world.run(input).through('report');

    const doc = world.doc<VerificationDocument>(run.validate!.resultKey);
    expect(doc.blockedDigests).toEqual([d.shared]);
    expect(doc.failures).toEqual([{ edge: `staging.example/s/shared@${d.shared}`, phase: 'validate', code: 'MISSING', error: 'zzz: no signature found' }]);
    expect(run.validate).toMatchObject({ mode: 'mixed', blocked: 1 });
    for (const dest of everywhere('shared')) expect(world.registry.has(dest, d.shared)).toBe(false);
    expect(await signedAnywhere(world, 'shared', d.shared)).toBe(false);
    for (const dest of everywhere('own')) expect(world.registry.tagsOf(dest)).toMatchObject({ v1: d.own });
    expect(await signedAnywhere(world, 'own', d.own)).toBe(true);
    expect(run.report).toMatchObject({ status: 'failed', edges: { promoted: 3, failed: 6 } });
    expect(run.report!.failures.map((f) => `${f.phase} ${f.code} ${f.error}`)).toEqual(['validate MISSING zzz: no signature found']);
  });

  it('provenance: the same engine, the same rule (aaa off, zzz require)', async () => {
    const { world, d } = arrange();
    const input = world.input([
      project({ name: 'aaa', images: [{ name: 'shared', dmap: { [d.shared]: ['aaa-v1'] } }], provenance: { mode: 'off' }, signatures: { mode: 'off' } }),
      project({
        name: 'zzz',
        images: [{ name: 'shared', dmap: { [d.shared]: ['zzz-v1'] } }],
        provenance: { mode: 'require', keys, builders: [BUILDER], sources: SOURCES },
        signatures: { mode: 'off' },
      }),
    ]);
    const run = await world.run(input).through('report');
    const doc = world.doc<VerificationDocument>(run.provenance!.resultKey);
    expect(doc.blockedDigests).toEqual([d.shared]);
    expect(doc.failures.map((f) => f.error)).toEqual(['zzz: no provenance found']);
    for (const dest of everywhere('shared')) expect(world.registry.has(dest, d.shared)).toBe(false);
    expect(await signedAnywhere(world, 'shared', d.shared)).toBe(false);
    expect(run.report!.status).toBe('failed');
  });

  it('each failing project is named; one that passes the check does not unblock the digest', async () => {
    const { world, d } = arrange();
    await attachProvenance(world.registry, staging('shared'), d.shared, releaseKey, { builder: 'https://ci.example/untrusted' });
    const strict = { mode: 'require' as const, keys, builders: [BUILDER], sources: SOURCES };
    const input = world.input([
      project({
        name: 'aaa',
        images: [{ name: 'shared', dmap: { [d.shared]: ['aaa-v1'] } }],
        provenance: { ...strict, builders: ['https://ci.example/untrusted'] },
      }),
      project({ name: 'mmm', images: [{ name: 'shared', dmap: { [d.shared]: ['mmm-v1'] } }], provenance: strict }),
      project({ name: 'zzz', images: [{ name: 'shared', dmap: { [d.shared]: ['zzz-v1'] } }], provenance: strict }),
    ]);
    const run = await world.run(input).through('plan');
    run.provenance = await run.exec(run.worker.provenance, [run.planRef]);
    const doc = world.doc<VerificationDocument>(run.provenance.resultKey);
    expect(doc.blockedDigests).toEqual([d.shared]);
    expect(doc.failures.map((f) => f.error.split(':')[0]).sort()).toEqual(['mmm', 'zzz']);
    expect(doc.failures[0]!.error).toContain('builder https://ci.example/untrusted is not allowed');
    expect(run.provenance).toMatchObject({ checked: 3, passed: 1, failed: 2, blocked: 1 });
  });

  it('projects with identical policies share one check: no more registry requests than one project alone', async () => {
    const requestsFor = async (projects: string[]) => {
      const world = new World();
      const digest = world.registry.putImage(staging('shared'), 'shared');
      await signInStaging(world.registry, staging('shared'), digest, releaseKey, 'both');
      const input = world.input(
        projects.map((name) => project({ name, images: [{ name: 'shared', dmap: { [digest]: [`${name}-v1`] } }], signatures: { mode: 'require', keys } })),
      );
      const run = await world.run(input).through('plan');
      const from = world.registry.requests.length;
      run.validate = await run.exec(run.worker.validate, [run.planRef]);
      expect(run.validate).toMatchObject({ blocked: 0, passed: projects.length });
      return world.registry.requests.slice(from).length;
    };
    const one = await requestsFor(['aaa']);
    expect(one).toBeGreaterThan(0);
    expect(await requestsFor(['aaa', 'mmm', 'zzz'])).toBe(one);
  });

  it('the nightly re-mirroring signs a never-signed digest in place only when every project naming it is satisfied', async () => {
    const { world, d } = arrange();
    // Somebody put `shared` at every destination by hand; it was never signed by the promoter.
    for (const dest of everywhere('shared')) {
      await world.registry.copy({
        project: 'x',
        image: 'shared',
        destinationIndex: 0,
        source: staging('shared'),
        destination: dest,
        digest: d.shared,
        tags: ['aaa-v1', 'zzz-v1'],
        edges: 1,
      });
    }
    const input = world.input([
      project({ name: 'aaa', images: [{ name: 'shared', dmap: { [d.shared]: ['aaa-v1'] } }], signatures: { mode: 'off' } }),
      project({ name: 'zzz', images: [{ name: 'shared', dmap: { [d.shared]: ['zzz-v1'] } }], signatures: { mode: 'require', keys } }),
    ]);
    const report = await world.mirror({ confirm: true, bundleKey: input.bundleKey });
    expect(report.signedNow).toBe(0);
    expect(report.status).toBe('failed');
    expect(report.failures.length).toBeGreaterThan(0);
    for (const f of report.failures) expect(f.error).toMatch(/^BLOCKED: not signed: MISSING zzz: no signature found/);
    expect(await signedAnywhere(world, 'shared', d.shared)).toBe(false);
  });
});
