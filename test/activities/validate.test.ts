// Validate on the fake registry, with source signatures made by lib/signing in each format: every
// policy mode (require, if-present, off) against a signature that verifies, none, and one that
// does not (another key); a provenance attestation is not a signature; a dry run ends here with
// the plan and nothing written to any destination.
import { describe, expect, it } from 'vitest';
import type { VerificationDocument } from '../../lib/run/documents';
import { loadSigningKey } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { referrersFallbackTag, signatureTag } from '../../lib/signing';
import { everywhere, project, staging, World } from '../support/activity-world';
import { attachProvenance, signInStaging } from '../support/staging-evidence';

const releaseKey = loadSigningKey({ pem: p256Pair().privatePem });
const strangerKey = loadSigningKey({ pem: p256Pair().privatePem });

/** A world whose staging holds one image per name, signed as `signedBy` says. */
async function arrange(signedBy: Record<string, 'legacy' | 'bundle' | 'both' | 'stranger' | 'provenance' | 'none'>) {
  const world = new World();
  const r = world.registry;
  const d: Record<string, string> = {};
  for (const [name, how] of Object.entries(signedBy)) {
    const digest = (d[name] = r.putImage(staging(name), name));
    if (how === 'legacy' || how === 'bundle' || how === 'both') await signInStaging(r, staging(name), digest, releaseKey, how);
    if (how === 'stranger') await signInStaging(r, staging(name), digest, strangerKey, 'both');
    if (how === 'provenance') await attachProvenance(r, staging(name), digest, releaseKey);
  }
  const images = (names: string[]) => names.map((name) => ({ name, dmap: { [d[name]!]: ['v1'] } }));
  return { world, d, images };
}

const outcome = (doc: VerificationDocument) => Object.fromEntries(doc.failures.map((f) => [f.edge.split('/').at(-1)!.split('@')[0], f.code]));

describe('validate', () => {
  it('require passes signatures in either format and blocks the unsigned, the wrongly signed and the provenance-only', async () => {
    const { world, d, images } = await arrange({
      legacy: 'legacy',
      bundle: 'bundle',
      both: 'both',
      unsigned: 'none',
      stranger: 'stranger',
      provenance: 'provenance',
    });
    const keys = [releaseKey.publicKeyPem];
    const run = await world.run(world.input([project({ images: images(Object.keys(d)), signatures: { mode: 'require', keys } })])).through('plan');
    const summary = (run.validate = await run.exec(run.worker.validate, [run.planRef]));
    expect(summary).toMatchObject({ mode: 'require', checked: 6, passed: 3, failed: 1, missing: 2, warnings: 0, blocked: 3, failureCount: 3 });
    const doc = world.doc<VerificationDocument>(summary.resultKey);
    expect(outcome(doc)).toEqual({ unsigned: 'MISSING', provenance: 'MISSING', stranger: 'VERIFICATION_FAILED' });
    expect(doc.failures.find((f) => f.code === 'VERIFICATION_FAILED')!.error).toMatch(/^demo: /);
    expect(doc.blockedDigests).toEqual([d.unsigned, d.stranger, d.provenance].sort());
  });

  it('if-present passes the unsigned (counted missing) and blocks only a signature that does not verify', async () => {
    const { world, d, images } = await arrange({ good: 'both', unsigned: 'none', stranger: 'stranger' });
    const run = await world
      .run(world.input([project({ images: images(Object.keys(d)), signatures: { mode: 'if-present', keys: [releaseKey.publicKeyPem] } })]))
      .through('plan');
    const summary = (run.validate = await run.exec(run.worker.validate, [run.planRef]));
    expect(summary).toMatchObject({ mode: 'if-present', checked: 3, passed: 1, failed: 1, missing: 1, blocked: 1 });
    const doc = world.doc<VerificationDocument>(summary.resultKey);
    expect(outcome(doc)).toEqual({ stranger: 'VERIFICATION_FAILED' });
    expect(doc.blockedDigests).toEqual([d.stranger]);

    // Promote skips the blocked digest only.
    const copiesBefore = world.registry.copies.length;
    await run.through('promote');
    expect(
      world.registry.copies
        .slice(copiesBefore)
        .map((c) => c.task.image)
        .sort(),
    ).toEqual(['good', 'good', 'good', 'unsigned', 'unsigned', 'unsigned']);
    expect(run.promote).toMatchObject({ promotedEdges: 6, failedEdges: 0 });
  });

  it('off checks nothing, even a signature by a stranger; a signed image under a policy with no keys fails', async () => {
    const { world, d, images } = await arrange({ stranger: 'stranger', signed: 'both' });
    const run = await world
      .run(
        world.input([
          project({ name: 'unchecked', images: images(['stranger']), signatures: { mode: 'off', keys: [releaseKey.publicKeyPem] } }),
          project({ name: 'keyless', images: images(['signed']), signatures: { mode: 'if-present', keys: [] } }),
        ]),
      )
      .through('plan');
    const from = world.registry.requests.length;
    const summary = (run.validate = await run.exec(run.worker.validate, [run.planRef]));
    expect(summary).toMatchObject({ mode: 'mixed', checked: 1, failed: 1, blocked: 1 });
    const doc = world.doc<VerificationDocument>(summary.resultKey);
    expect(doc.failures).toEqual([
      expect.objectContaining({ code: 'VERIFICATION_FAILED', error: 'keyless: signed, but the policy names no keys or identities to verify with' }),
    ]);
    expect(doc.blockedDigests).toEqual([d.signed]);
    expect(world.registry.requests.slice(from).map((q) => q.where)).not.toContain('staging.example/s/stranger');
  });

  it('a digest somebody else put in place is verified before the promoter signs it; one it promoted and signed earlier is not checked again', async () => {
    const { world, d, images } = await arrange({ ours: 'both', byhand: 'none', vetted: 'both' });
    const r = world.registry;
    const policy = { mode: 'require' as const, keys: [releaseKey.publicKeyPem] };
    await world.run(world.input([project({ images: images(['ours']), signatures: policy })])).through('report');
    // Then: `byhand` and `vetted` copied to every destination outside the promoter, and `ours`'s
    // staging signature removed (staging is cleaned up after a release).
    for (const name of ['byhand', 'vetted']) {
      for (const dest of everywhere(name))
        await r.copy({ project: 'x', image: name, destinationIndex: 0, source: staging(name), destination: dest, digest: d[name]!, tags: ['v1'], edges: 1 });
    }
    r.deleteTag(staging('ours'), signatureTag(d.ours!));
    r.deleteTag(staging('ours'), referrersFallbackTag(d.ours!));

    const run = world.run(world.input([project({ images: images(['ours', 'byhand', 'vetted']), signatures: policy })]));
    await run.through('plan');
    expect(run.plan!.counts).toMatchObject({ present: 9, promote: 0 });
    const from = r.requests.length;
    await run.through('report');
    expect(run.validate).toMatchObject({ checked: 2, passed: 1, missing: 1, blocked: 1 });
    expect(r.requests.slice(from).filter((q) => q.where === 'staging.example/s/ours')).toEqual([]);
    expect(run.sign).toMatchObject({ signed: 1, alreadySigned: 1, mirrored: 2 });
    for (const dest of everywhere('byhand')) expect((await r.verifySignatures({ ...dest, digest: d.byhand! }, world.trust)).formats).toEqual([]);
    for (const dest of everywhere('vetted')) expect((await r.verifySignatures({ ...dest, digest: d.vetted! }, world.trust)).valid).toBe(true);
    expect(run.report!.status).toBe('failed');
    expect(run.report!.failures.map((f) => `${f.phase} ${f.code} ${f.edge}`)).toEqual([
      `validate MISSING staging.example/s/byhand@${d.byhand}`,
      `sign BLOCKED prod.example/p/byhand@${d.byhand}`,
    ]);
  });

  it('Validate reads nothing Provenance read in the same run; the next run reads again and sees a signature added meanwhile', async () => {
    const { world, d, images } = await arrange({ signed: 'both', late: 'none' });
    const r = world.registry;
    const policies = {
      signatures: { mode: 'require' as const, keys: [releaseKey.publicKeyPem] },
      provenance: { mode: 'warn' as const, keys: [releaseKey.publicKeyPem] },
    };
    const input = world.input([project({ images: images(Object.keys(d)), ...policies })]);
    const lookups = (from: number) => r.requests.slice(from).filter((q) => q.op === 'findSignatures').length;

    const first = await world.run(input).through('provenance');
    const from = r.requests.length;
    await first.through('validate');
    expect(first.validate).toMatchObject({ checked: 2, passed: 1, missing: 1, blocked: 1 });
    expect(lookups(from)).toBe(0);

    // `late` is signed after the run failed; the next run on the same worker looks again.
    await signInStaging(r, staging('late'), d.late!, releaseKey, 'legacy');
    const second = world.run(input);
    second.worker = first.worker;
    const before = r.requests.length;
    await second.through('validate');
    expect(second.validate).toMatchObject({ checked: 2, passed: 2, missing: 0, blocked: 0 });
    expect(lookups(before)).toBe(2);
  });

  it('a dry run ends after Validate: its verdicts are in the report and no destination holds anything', async () => {
    const { world, d, images } = await arrange({ good: 'both', stranger: 'stranger' });
    const input = world.input([project({ images: images(Object.keys(d)), signatures: { mode: 'require', keys: [releaseKey.publicKeyPem] } })], {
      confirm: false,
    });
    const run = await world.run(input).through('report');
    expect(run.report).toMatchObject({ status: 'dry-run', dryRun: true, edges: { total: 6, toPromote: 6, promoted: 0, failed: 3 } });
    expect(run.report!.signaturesVerified).toMatchObject({ mode: 'require', checked: 2, passed: 1, failed: 1, blocked: 1 });
    expect(run.report!.failures.map((f) => [f.phase, f.code])).toEqual([['validate', 'VERIFICATION_FAILED']]);
    expect(world.registry.copies).toEqual([]);
    for (const name of ['good', 'stranger']) for (const dest of everywhere(name)) expect(world.registry.tagsOf(dest)).toEqual({});
  });
});
