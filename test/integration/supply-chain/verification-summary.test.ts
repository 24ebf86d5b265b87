// Verification summaries end to end: staging evidence made by the real cosign (provenance and
// signatures, in the bundle format and the legacy `.att`/`.sig` one), a promotion to production and
// both mirrors under `require`, then the real cosign verifies the SLSA VSA at every destination
// with the worker's key. Its fields are checked against the run's report, the archived manifests
// and the staging evidence; a digest blocked by its policy, though somebody put it in production,
// gets none. The nightly re-mirroring puts back a summary a mirror lacks.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestBundle } from '../../../lib/manifests';
import { copyImage } from '../../../lib/oci';
import type { MirrorReport } from '../../../lib/run/mirror-types';
import type { RunReport } from '../../../lib/run/report';
import { tagRecordKey } from '../../../lib/run/storage-keys';
import type { TagRecord } from '../../../lib/run/tag-record';
import { parseJsonOutput, runCli } from '../../support/cli';
import { policyDigest, type VerificationSummaryPredicate } from '../../../lib/run/vsa';
import { PROMOTION_PREDICATE_TYPE, VSA_PREDICATE_TYPE, type Statement } from '../../../lib/signing';
import { AuditStore } from '../../../lib/storage/audit-store';
import { findCosign } from '../../support/cosign';
import { stack, uniqueName } from '../../support/stack-env';
import {
  cosignAttestProvenance,
  cosignKeyPair,
  cosignSign,
  cosignVerifyAttestation,
  getManifestJson,
  promote,
  referrersOf,
  registryClient,
  seedImages,
  tagOf,
  writeManifest,
  type CosignKeyPair,
  type ProvenanceFacts,
  type StagedImage,
} from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

const s = stack();
const { staging, production, mirrorA, mirrorB } = s.registries.all;
const destinations = [production, mirrorA, mirrorB];
const client = registryClient();
const prefix = uniqueName('sc-vsa');
const BUILDER = 'https://github.com/kubernetes/release/.github/workflows/build.yaml@refs/heads/main';
const facts: ProvenanceFacts = { builderId: BUILDER, source: 'git+https://github.com/kubernetes/kubernetes@refs/tags/v1.36.0' };

let worker: TestWorker;
let release: CosignKeyPair;
let imgs: Record<string, StagedImage>;
let report: RunReport;
let policy: string;

/** Each referrer of the image at `host` (API or fallback index) with the predicate type its manifest names. */
async function predicateTypes(host: string, img: StagedImage): Promise<{ digest: string; type?: string }[]> {
  const out: { digest: string; type?: string }[] = [];
  for (const r of await referrersOf(client, host, img.repository, img.digest)) {
    const m = await getManifestJson(client, host, img.repository, { digest: r.digest });
    out.push({ digest: r.digest, type: m?.json?.annotations?.['dev.sigstore.bundle.predicateType'] });
  }
  return out;
}

/** The first statement `cosign verify-attestation --type` prints for `ref` (it must pass). */
async function verifiedStatement<P>(ref: string, type: string): Promise<Statement<P>> {
  const r = await cosignVerifyAttestation(s.publicKeyPath, ref, type);
  expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
  return JSON.parse(Buffer.from(JSON.parse(r.stdout.trim().split('\n')[0]!).payload, 'base64').toString('utf8')) as Statement<P>;
}

describe.skipIf(!findCosign())('verification summaries (SLSA VSA v1)', () => {
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promoter-sc-vsa-'));
    [worker, release, imgs] = await Promise.all([
      startTestWorker('sc-vsa'),
      cosignKeyPair(dir, 'release'),
      seedImages(client, prefix, ['bundled', 'legacy', 'unproven'], { layerSize: 512 }),
    ]);
    await cosignAttestProvenance(release, imgs.bundled!.ref, facts, dir);
    await cosignSign(release, imgs.bundled!.ref);
    await cosignAttestProvenance(release, imgs.legacy!.ref, facts, dir, { legacy: true });
    await cosignSign(release, imgs.legacy!.ref, { legacy: true });
    await cosignSign(release, imgs.unproven!.ref);
    // Somebody else put the unproven image in production: it is there, but its policy blocks it.
    await copyImage(
      client,
      { host: staging, repository: imgs.unproven!.repository, digest: imgs.unproven!.digest },
      { host: production, repository: imgs.unproven!.repository },
    );
    policy = [
      'signatures:',
      '  mode: require',
      '  keys: [release.pub]',
      'provenance:',
      '  mode: require',
      `  builders: ["${BUILDER}"]`,
      '  keys: [release.pub]',
    ].join('\n');
    const manifest = await writeManifest({
      prefix,
      destinations,
      files: { 'release.pub': release.pub },
      policy,
      images: Object.values(imgs).map((i) => ({ name: i.name, digest: i.digest })),
    });
    ({ report } = await promote(manifest, worker.taskQueue, { timeoutMs: 240_000 }));
  }, 400_000);
  afterAll(async () => worker?.stop());

  it('the report counts one summary per promoted digest; the blocked one is not among them', () => {
    expect(report.provenance).toMatchObject({ mode: 'require', checked: 3, passed: 2, missing: 1, blocked: 1 });
    expect(report.signaturesVerified).toMatchObject({ mode: 'require', checked: 3, passed: 3 });
    expect(report.attestations).toEqual({ written: 2, alreadyPresent: 0, vsaWritten: 2, vsaAlreadyPresent: 0 });
  });

  it('cosign verify-attestation --type https://slsa.dev/verification_summary/v1 passes at every destination; the fields match the run', async () => {
    const store = new AuditStore(worker.config.store);
    const bundle = await store.getJson<ManifestBundle>(report.audit.bundleKey);
    const project = bundle.projects[0]!;
    // What the summary must name as its inputs: the staging manifests that carry the evidence.
    const bundledReferrers = await predicateTypes(staging, imgs.bundled!);
    const byType = (t: string) => bundledReferrers.find((r) => r.type === t)!.digest;
    const legacyAtt = (await getManifestJson(client, staging, imgs.legacy!.repository, { tag: tagOf(imgs.legacy!.digest, '.att') }))!.digest;
    const legacySig = (await getManifestJson(client, staging, imgs.legacy!.repository, { tag: tagOf(imgs.legacy!.digest, '.sig') }))!.digest;
    const inputs: Record<string, string[]> = {
      bundled: [byType('https://slsa.dev/provenance/v1'), byType('https://sigstore.dev/cosign/sign/v1')],
      legacy: [legacyAtt, legacySig],
    };
    for (const name of ['bundled', 'legacy']) {
      const img = imgs[name]!;
      const primaryRef = `${production}/${img.repository}@${img.digest}`;
      const promotion = await verifiedStatement<{ builder: { id: string } }>(primaryRef, PROMOTION_PREDICATE_TYPE);
      for (const host of destinations) {
        const vsa = await verifiedStatement<VerificationSummaryPredicate>(`${host}/${img.repository}@${img.digest}`, VSA_PREDICATE_TYPE);
        expect(vsa.subject[0]!.digest?.sha256).toBe(img.digest.slice(7));
        const p = vsa.predicate;
        expect(p.verifier.id, 'the promoter names itself as in its promotion attestation').toBe(promotion.predicate.builder.id);
        expect(p.resourceUri).toBe(primaryRef);
        expect(p.verificationResult).toBe('PASSED');
        expect(p.verifiedLevels).toEqual(['SLSA_BUILD_LEVEL_2']);
        expect(p.policy).toEqual({
          uri: `s3://${report.audit.bucket}/${report.audit.bundleKey}#${project.file}`,
          digest: { sha256: policyDigest(project.provenance, project.signatures) },
        });
        expect(p.inputAttestations, `${name} at ${host}`).toEqual(
          inputs[name]!.map((d) => ({ uri: `${staging}/${img.repository}@${d}`, digest: { sha256: d.slice(7) } })),
        );
        const verified = Date.parse(p.timeVerified);
        expect(verified).toBeGreaterThanOrEqual(Date.parse(report.phases.provenance.startedAt!));
        expect(verified).toBeLessThanOrEqual(Date.parse(report.phases.promote.startedAt!));
      }
    }
  });

  it('a digest blocked by its policy gets no summary, though it is in production', async () => {
    const img = imgs.unproven!;
    expect(report.failures.some((f) => f.phase === 'provenance' && f.code === 'MISSING' && f.edge.includes(img.repository))).toBe(true);
    const ref = `${production}/${img.repository}@${img.digest}`;
    const r = await cosignVerifyAttestation(s.publicKeyPath, ref, VSA_PREDICATE_TYPE);
    expect(r.code, `${r.command}\n${r.stdout}`).not.toBe(0);
    // Refused for want of a summary, not for an unreachable registry.
    expect(r.stderr).toMatch(/no matching attestations|none of the attestations matched/);
    const referrers = await predicateTypes(production, img);
    expect(referrers.filter((x) => x.type === VSA_PREDICATE_TYPE)).toEqual([]);
  });

  it('the nightly re-mirroring reports a summary a mirror lacks and puts it back there', async () => {
    const img = imgs.bundled!;
    const atMirror = `${mirrorA}/${img.repository}@${img.digest}`;
    const before = await verifiedStatement<VerificationSummaryPredicate>(atMirror, VSA_PREDICATE_TYPE);
    // What Attest failing at mirror-a leaves: no promotion attestation or summary there, and a tag record that notes none.
    for (const r of await predicateTypes(mirrorA, img)) {
      if (r.type === VSA_PREDICATE_TYPE || r.type === PROMOTION_PREDICATE_TYPE)
        expect(await client.deleteManifest({ host: mirrorA, repository: img.repository, digest: r.digest })).toBe(true);
    }
    const store = new AuditStore(worker.config.store);
    const recordKey = tagRecordKey(mirrorA, img.repository);
    const record = await store.getJson<TagRecord>(recordKey);
    expect(record.attested?.[img.digest], 'Attest noted both statements').toHaveLength(2);
    delete record.attested![img.digest];
    await store.overwriteJson(recordKey, record);
    expect((await cosignVerifyAttestation(s.publicKeyPath, atMirror, VSA_PREDICATE_TYPE)).code).not.toBe(0);

    // The promoted images only (the blocked one would be refused again, which is not what this checks).
    const manifest = await writeManifest({
      prefix,
      destinations,
      files: { 'release.pub': release.pub },
      policy,
      images: [imgs.bundled!, imgs.legacy!].map((i) => ({ name: i.name, digest: i.digest })),
    });
    const env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
    const check = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--wait', '--json'], env));
    expect(check.status).toBe('failed');
    expect(check.failures.map((f) => `${f.error.split(':')[0]} ${f.edge}`)).toEqual([`ATTESTATION_OUT_OF_SYNC ${atMirror}`]);
    const fixed = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--confirm', '--wait', '--json'], env));
    expect(fixed).toMatchObject({ status: 'succeeded', attestationsRepaired: 1, mirrored: 0, signedNow: 0, failures: [] });
    const after = await verifiedStatement<VerificationSummaryPredicate>(atMirror, VSA_PREDICATE_TYPE);
    expect(after, 'the archived summary, not a new one').toEqual(before);
    await verifiedStatement(atMirror, PROMOTION_PREDICATE_TYPE);
    const again = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--confirm', '--wait', '--json'], env));
    expect(again).toMatchObject({ status: 'succeeded', attestationsRepaired: 0, alreadyInSync: 2 });
  }, 240_000);
});
