// The verification summaries Attest writes, on the fake registry with staging evidence made for
// real by lib/signing: each promoted digest gets one SLSA VSA at every destination, verifying with
// the worker's key, whose fields say what Provenance and Validate decided (levels, inputs, policy);
// a digest its policy blocked gets none; a run whose verification documents predate summaries
// writes none rather than one that names no evidence.
import { describe, expect, it } from 'vitest';
import type { VerificationDocument } from '../../lib/run/documents';
import { phaseResultKey, verificationSummaryKey } from '../../lib/run/storage-keys';
import { policyDigest, type VerificationSummaryPredicate } from '../../lib/run/vsa';
import { loadSigningKey, verifyBundle, VSA_PREDICATE_TYPE, type Statement } from '../../lib/signing';
import { p256Pair } from '../unit/signing/helpers';
import { everywhere, project, staging, World } from '../support/activity-world';
import { attachProvenance, BUILDER, signInStaging } from '../support/staging-evidence';

const releaseKey = loadSigningKey({ pem: p256Pair().privatePem });
const keys = [releaseKey.publicKeyPem];
const key = (r: { host: string; repository: string }) => `${r.host}/${r.repository}`;

/** The summaries a client finds at `repo` for `digest`, each verified with the worker's key. */
async function summariesAt(world: World, repo: { host: string; repository: string }, digest: string) {
  const found = await world.registry.findSignatures({ ...repo, digest });
  return found.bundles
    .filter((b) => b.predicateType === VSA_PREDICATE_TYPE)
    .map((b) => verifyBundle(b.bundle, { ...world.trust, expectedDigest: digest, predicateType: VSA_PREDICATE_TYPE }));
}

async function arrange() {
  const world = new World();
  const r = world.registry;
  const d: Record<string, string> = {};
  for (const name of ['built', 'unbuilt', 'blocked']) d[name] = r.putImage(staging(name), name);
  await attachProvenance(r, staging('built'), d.built!, releaseKey);
  await signInStaging(r, staging('built'), d.built!, releaseKey, 'bundle');
  await signInStaging(r, staging('unbuilt'), d.unbuilt!, releaseKey, 'legacy');
  const images = (names: string[]) => names.map((name) => ({ name, dmap: { [d[name]!]: ['v1'] } }));
  const strict = project({
    name: 'strict',
    images: images(['built', 'blocked']),
    provenance: { mode: 'require', keys, builders: [BUILDER] },
    signatures: { mode: 'require', keys },
  });
  const lenient = project({ name: 'lenient', images: images(['unbuilt']), provenance: { mode: 'warn', keys }, signatures: { mode: 'require', keys } });
  const input = world.input([strict, lenient]);
  return { world, d, input, strict, lenient };
}

describe('verification summaries', () => {
  it('one per promoted digest at every destination, verifying, with what Provenance and Validate decided; a blocked digest gets none', async () => {
    const { world, d, input, strict, lenient } = await arrange();
    const run = await world.run(input).through('report');
    expect(run.attest).toMatchObject({ written: 2, vsaWritten: 2, vsaAlreadyPresent: 0, failureCount: 0 });
    expect(run.report!.attestations).toEqual({ written: 2, alreadyPresent: 0, vsaWritten: 2, vsaAlreadyPresent: 0 });
    expect(run.report!.provenance).toMatchObject({ passed: 1, missing: 2, blocked: 1 });

    const inputsOf = async (name: string) => {
      const found = await world.registry.findSignatures({ ...staging(name), digest: d[name]! });
      return { referrers: found.bundles.map((b) => ({ type: b.predicateType, digest: b.referrer.digest })), sig: found.signature?.digest };
    };
    const built = await inputsOf('built');
    const unbuilt = await inputsOf('unbuilt');
    const expected: Record<string, { levels: string[]; inputs: string[]; policy: string }> = {
      // Provenance from an allowed builder, and a bundle signature: both are inputs.
      built: {
        levels: ['SLSA_BUILD_LEVEL_2'],
        inputs: [
          built.referrers.find((x) => x.type === 'https://slsa.dev/provenance/v1')!.digest,
          built.referrers.find((x) => x.type !== 'https://slsa.dev/provenance/v1')!.digest,
        ],
        policy: policyDigest(strict.provenance, strict.signatures),
      },
      // No provenance, which `warn` lets through: level 0; the `.sig` that verified is the input.
      unbuilt: { levels: ['SLSA_BUILD_LEVEL_0'], inputs: [unbuilt.sig!], policy: policyDigest(lenient.provenance, lenient.signatures) },
    };
    const docs = ['provenance', 'validate'].map((p) => world.doc<VerificationDocument>(phaseResultKey(run.ids.workflowId, run.ids.runId, p)));
    for (const [name, want] of Object.entries(expected)) {
      const primary = everywhere(name)[0]!;
      let first: Statement | undefined;
      for (const dest of everywhere(name)) {
        const found = await summariesAt(world, dest, d[name]!);
        expect(
          found.map((v) => v.ok),
          `${name} at ${key(dest)}`,
        ).toEqual([true]);
        first ??= found[0]!.statement;
        expect(found[0]!.statement, 'every destination carries the same summary').toEqual(first);
      }
      const s = first as unknown as Statement<VerificationSummaryPredicate>;
      expect(s.subject).toEqual([{ name: key(primary), digest: { sha256: d[name]!.slice(7) } }]);
      const records = docs.map((doc) => doc.records![`${key(staging(name))}@${d[name]}`]!);
      expect(s.predicate).toEqual({
        verifier: { id: 'https://github.com/promoter/promoter/worker@v1' },
        timeVerified: [records[0]!.at, records[1]!.at].sort().at(-1),
        resourceUri: `${key(primary)}@${d[name]}`,
        policy: {
          uri: `s3://${world.store.bucket}/${input.bundleKey}#manifests/${name === 'built' ? 'strict' : 'lenient'}/promoter-manifest.yaml`,
          digest: { sha256: want.policy },
        },
        inputAttestations: want.inputs.map((x) => ({ uri: `${key(staging(name))}@${x}`, digest: { sha256: x.slice(7) } })),
        verificationResult: 'PASSED',
        verifiedLevels: want.levels,
        slsaVersion: '1.0',
      });
    }
    // Blocked (require, no provenance): not promoted, and no summary anywhere, archived or attached.
    for (const dest of everywhere('blocked')) expect(await summariesAt(world, dest, d.blocked!)).toEqual([]);
    expect(world.store.docs.has(verificationSummaryKey(run.ids.workflowId, run.ids.runId, 'blocked', d.blocked!))).toBe(false);
  });

  it('verification documents of an earlier version (no records): the promotion attestation is written, no summary', async () => {
    const { world, d, input } = await arrange();
    const run = await world.run(input).through('validate');
    for (const phase of ['provenance', 'validate']) {
      const k = phaseResultKey(run.ids.workflowId, run.ids.runId, phase);
      const { records: _dropped, ...old } = world.doc<VerificationDocument>(k);
      world.store.docs.set(k, JSON.stringify(old));
    }
    await run.through('attest');
    expect(run.attest).toMatchObject({ written: 2, vsaWritten: 0, failureCount: 0 });
    for (const dest of everywhere('built')) expect(await summariesAt(world, dest, d.built!)).toEqual([]);
  });
});
