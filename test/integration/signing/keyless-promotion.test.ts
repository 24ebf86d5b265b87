// A promotion signed keyless, end to end, against the dev stack's Fulcio, Rekor v2, TSA and OIDC
// issuer: the worker (PROMOTER_SIGNING_MODE=keyless) signs and attests in both formats at the
// primary and every mirror, and cosign verifies by identity (another identity fails); Validate
// accepts what `cosign sign` made keyless as the trusted identity and blocks another identity's;
// a bad identity token stops Setup before anything is signed; a worker killed mid-Sign leaves
// exactly one signature per digest and format.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { PROMOTION_PREDICATE_TYPE, VSA_PREDICATE_TYPE, signatureTag } from '../../../lib/signing';
import { cosignRegistryFlags } from '../../../scripts/dev/stack';
import { progressQuery, type promotionWorkflow } from '../../../workflows/promotion';
import { parseJsonOutput, runCli } from '../../support/cli';
import { findCosign, runCosign } from '../../support/cosign';
import { COSIGN_LEGACY_KEYLESS_VERIFY, cosignKeylessVerifyFlags, keylessStack, mintToken } from '../../support/keyless';
import { stack, uniqueName } from '../../support/stack-env';
import { countSignatures, cosignEnv, registryClient, seedImages, writeManifest, type StagedImage } from '../../support/supply-chain';
import { useTemporal } from '../../support/temporal';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { startWorkerProcess } from '../../support/worker-process';

const k = keylessStack();
const cosign = findCosign();
const OTHER = 'someone-else@promoter-dev.iam.example.com';
const KEYLESS = { PROMOTER_SIGNING_MODE: 'keyless' };
const runs = useTemporal();

describe.skipIf(!k || !cosign)('a promotion signed keyless', () => {
  const s = stack();
  const { production, mirrorA, mirrorB } = s.registries.all;
  const destinations = [production, mirrorA, mirrorB];
  const client = registryClient();
  let worker: TestWorker;
  const verify = (ref: string, extra: string[] = [], identity = k!.identity) =>
    runCosign(['verify', ...cosignKeylessVerifyFlags(k!, identity), ...extra, ...cosignRegistryFlags(), ref], cosignEnv());

  beforeAll(async () => {
    worker = await startTestWorker('keyless', KEYLESS);
  }, 120_000);
  afterAll(async () => worker?.stop());

  it('signs and attests keyless in both formats at the primary and every mirror; cosign verifies by identity only', async () => {
    const prefix = uniqueName('kl-promote');
    const staged = await seedImages(client, prefix, ['app']);
    const img = staged.app!;
    const manifest = await writeManifest({
      prefix,
      destinations,
      policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
      images: [{ name: 'app', digest: img.digest }],
    });
    const report = parseJsonOutput<RunReport>(
      await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue }, 240_000),
    );
    expect(report.failures).toEqual([]);
    expect(report.status).toBe('succeeded');
    expect(report.signatures).toMatchObject({ signed: 1, manifestsSigned: 1 });
    expect(report.attestations).toMatchObject({ written: 1, vsaWritten: 1 });
    for (const host of destinations) {
      const ref = `${host}/${img.repository}@${img.digest}`;
      const bundle = await verify(ref);
      expect(bundle.code, `${ref}: ${bundle.stderr}`).toBe(0);
      expect(bundle.stderr).toMatch(/transparency log was verified/);
      const legacy = await verify(ref, COSIGN_LEGACY_KEYLESS_VERIFY);
      expect(legacy.code, `${ref} (.sig): ${legacy.stderr}`).toBe(0);
      expect(JSON.parse(legacy.stdout)[0].optional).toMatchObject({ Subject: k!.identity });
      expect((await verify(ref, [], OTHER)).code, `${ref} as another identity`).not.toBe(0);
      expect((await verify(ref, COSIGN_LEGACY_KEYLESS_VERIFY, OTHER)).code).not.toBe(0);
      const att = await runCosign(
        ['verify-attestation', '--type', PROMOTION_PREDICATE_TYPE, ...cosignKeylessVerifyFlags(k!), ...cosignRegistryFlags(), ref],
        cosignEnv(),
      );
      expect(att.code, `${ref} attestation: ${att.stderr}`).toBe(0);
      const statement = JSON.parse(Buffer.from(JSON.parse(att.stdout.trim().split('\n')[0]!).payload, 'base64').toString());
      expect(statement.predicate.run.id).toContain(report.workflowId);
      // The verification summary, signed keyless like the promotion attestation: both policies off, so nothing verified, level 0.
      const vsa = await runCosign(
        ['verify-attestation', '--type', VSA_PREDICATE_TYPE, ...cosignKeylessVerifyFlags(k!), ...cosignRegistryFlags(), ref],
        cosignEnv(),
      );
      expect(vsa.code, `${ref} verification summary: ${vsa.stderr}`).toBe(0);
      const summary = JSON.parse(Buffer.from(JSON.parse(vsa.stdout.trim().split('\n')[0]!).payload, 'base64').toString());
      expect(summary.predicate).toMatchObject({
        resourceUri: `${production}/${img.repository}@${img.digest}`,
        verificationResult: 'PASSED',
        verifiedLevels: ['SLSA_BUILD_LEVEL_0'],
        inputAttestations: [],
      });
      expect(summary.predicate.verifier.id).toBe(statement.predicate.builder.id);
      const other = await runCosign(
        ['verify-attestation', '--type', VSA_PREDICATE_TYPE, ...cosignKeylessVerifyFlags(k!, OTHER), ...cosignRegistryFlags(), ref],
        cosignEnv(),
      );
      expect(other.code, `${ref} verification summary as another identity`).not.toBe(0);
    }
  }, 300_000);

  it('Validate accepts what cosign signed keyless as the trusted identity, and blocks another identity and the unsigned under require', async () => {
    const prefix = uniqueName('kl-validate');
    const staged = await seedImages(client, prefix, ['trusted', 'stranger', 'unsigned']);
    const dir = await mkdtemp(join(tmpdir(), 'promoter-kl-'));
    const otherToken = join(dir, 'other-token');
    await writeFile(otherToken, mintToken(k!, { email: OTHER }));
    const sign = (img: StagedImage, token: string) =>
      runCosign(
        [
          'sign',
          '--identity-token',
          token,
          '--signing-config',
          k!.signingConfigPath,
          '--trusted-root',
          k!.trustedRootPath,
          ...cosignRegistryFlags(),
          '-y',
          img.ref,
        ],
        cosignEnv(),
      );
    for (const [img, token] of [
      [staged.trusted!, k!.tokenFile],
      [staged.stranger!, otherToken],
    ] as const) {
      const r = await sign(img, token);
      expect(r.code, r.stderr).toBe(0);
    }
    const policy = `signatures:\n  mode: require\n  identities:\n    - issuer: ${k!.issuer}\n      subject: ${k!.identity}\nprovenance:\n  mode: off`;
    const manifest = await writeManifest({
      prefix,
      destinations: [production],
      policy,
      images: Object.values(staged).map((i) => ({ name: i.name, digest: i.digest })),
    });
    const report = parseJsonOutput<RunReport>(
      await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue }, 240_000),
    );
    expect(report.signaturesVerified).toMatchObject({ mode: 'require', checked: 3, passed: 1, blocked: 2 });
    const blocked = Object.fromEntries(report.failures.filter((f) => f.phase === 'validate').map((f) => [f.edge.split('@')[0]!.split('/').pop(), f.code]));
    expect(blocked).toEqual({ stranger: 'VERIFICATION_FAILED', unsigned: 'MISSING' });
    expect(report.edges).toMatchObject({ promoted: 1, failed: 2 });
    expect((await client.headManifest({ host: production, repository: staged.trusted!.repository, tag: 'v1' }))?.digest).toBe(staged.trusted!.digest);
    expect(await client.headManifest({ host: production, repository: staged.stranger!.repository, tag: 'v1' })).toBeUndefined();
  }, 300_000);

  describe('a bad identity token fails Setup before anything is signed', () => {
    for (const [what, claims, message] of [
      ['wrong audience', { audience: 'somebody-else' }, /audience/],
      ['expired', { issuedAt: Math.floor(Date.now() / 1000) - 700, ttlSeconds: 600 }, /expired/],
    ] as const) {
      it(
        what,
        async () => {
          const dir = await mkdtemp(join(tmpdir(), 'promoter-kl-token-'));
          const tokenFile = join(dir, 'token');
          await writeFile(tokenFile, mintToken(k!, claims));
          const bad = await startTestWorker('kl-bad', { ...KEYLESS, PROMOTER_IDENTITY_TOKEN_FILE: tokenFile });
          try {
            const prefix = uniqueName('kl-bad');
            const staged = await seedImages(client, prefix, ['app']);
            const manifest = await writeManifest({
              prefix,
              destinations: [production],
              policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
              images: [{ name: 'app', digest: staged.app!.digest }],
            });
            const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: bad.taskQueue }, 240_000);
            const report = parseJsonOutput<RunReport>(r);
            expect(r.code).toBe(1);
            expect(report.phases.setup.status).toBe('failed');
            expect(report.phases.setup.summary).toMatch(message);
            expect(report.phases.promote.status).toBe('skipped');
            expect(await client.headManifest({ host: production, repository: staged.app!.repository, tag: 'v1' })).toBeUndefined();
            expect(await client.headManifest({ host: production, repository: staged.app!.repository, tag: signatureTag(staged.app!.digest) })).toBeUndefined();
          } finally {
            await bad.stop();
          }
        },
        240_000,
      );
    }
  });

  it('a worker killed during keyless Sign: the next one finishes, one signature per digest and format everywhere', async () => {
    const IMAGES = 8;
    const prefix = uniqueName('kl-crash');
    const names = Array.from({ length: IMAGES }, (_, i) => `img${i}`);
    const staged = await seedImages(client, prefix, names);
    const imgs = names.map((n) => staged[n]!);
    const manifest = await writeManifest({
      prefix,
      destinations,
      policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
      images: imgs.map((i) => ({ name: i.name, digest: i.digest })),
    });
    const taskQueue = `kl-crash-${randomBytes(4).toString('hex')}`;
    const env = { PROMOTER_TASK_QUEUE: taskQueue };
    const first = await startWorkerProcess(taskQueue, KEYLESS);
    runs.workers.push(first);
    const { workflowId } = parseJsonOutput<{ workflowId: string }>(await runCli(['run', '--manifest', manifest, '--confirm', '--json'], env));
    await expect
      .poll(async () => (await runs.client.workflow.getHandle(workflowId).query(progressQuery)).currentPhase, { timeout: 180_000, interval: 100 })
      .toBe('sign');
    await first.kill();
    const second = await startWorkerProcess(taskQueue, KEYLESS);
    runs.workers.push(second);
    const report: RunReport = await runs.client.workflow.getHandle<typeof promotionWorkflow>(workflowId).result();
    expect(report.failures).toEqual([]);
    expect(report.signatures.signed + report.signatures.alreadySigned).toBe(IMAGES);
    const wrong: string[] = [];
    for (const host of destinations) {
      for (const i of imgs) {
        const c = await countSignatures(client, host, i.repository, i.digest, '');
        if (c.sigLayers !== 1 || c.signBundles !== 1) wrong.push(`${host}/${i.repository}: ${JSON.stringify(c)}`);
      }
    }
    expect(wrong).toEqual([]);
    for (const i of imgs.slice(0, 3)) {
      expect((await verify(`${production}/${i.repository}@${i.digest}`)).code).toBe(0);
      expect((await verify(`${mirrorB}/${i.repository}@${i.digest}`, COSIGN_LEGACY_KEYLESS_VERIFY)).code).toBe(0);
    }
  }, 400_000);
});
