// A real keyless lookalike: the stack's own OIDC issuer mints a token for an address that an
// unanchored regular expression of the trusted identity would match
// (`promoter@promoter-devXiam.example.com.attacker.example` for `promoter@promoter-dev.iam.example.com`),
// Fulcio certifies it, and the real cosign signs and attests staging images with it. Under an
// exact-subject policy Validate (both signature formats) and Provenance (DSSE by identity) must
// refuse it: the edge is blocked, nothing promoted or signed. A bundle that reaches the worker
// without `promoter validate` (an unanchored subjectRegExp written into S3 by hand) fails Setup.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSha256, canonicalJson, type ManifestBundle } from '../../../lib/manifests';
import { bundleKey } from '../../../lib/run/storage-keys';
import { DEFAULT_RUN_OPTIONS } from '../../../lib/run/input';
import type { RunReport } from '../../../lib/run/report';
import { signatureTag } from '../../../lib/signing';
import { AuditStore } from '../../../lib/storage/audit-store';
import { cosignRegistryFlags } from '../../../scripts/dev/stack';
import { promotionWorkflow } from '../../../workflows/promotion';
import { findCosign, runCosign } from '../../support/cosign';
import { cosignKeylessVerifyFlags, keylessStack, mintToken } from '../../support/keyless';
import { stack, uniqueName } from '../../support/stack-env';
import { cosignEnv, promote, registryClient, seedImages, slsaPredicate, writeManifest, type StagedImage } from '../../support/supply-chain';
import { useTemporal } from '../../support/temporal';
import { startTestWorker, type TestWorker } from '../../support/worker';

const k = keylessStack();
const cosign = findCosign();
const runs = useTemporal();

/** The trusted identity with its first dot after the @ turned into an X and a suffix of the attacker's: what `.` and no `$` let through. */
const lookalikeOf = (identity: string): string => {
  const at = identity.indexOf('@');
  const dot = identity.indexOf('.', at);
  return `${identity.slice(0, dot)}X${identity.slice(dot + 1)}.attacker.example`;
};

describe.skipIf(!k || !cosign)('a keyless lookalike identity (Fulcio-certified, signed by the real cosign)', () => {
  const s = stack();
  const production = s.registries.production;
  const client = registryClient();
  const LOOKALIKE = lookalikeOf(k?.identity ?? 'a@b.c');
  let worker: TestWorker;
  let dir: string;
  let lookalikeToken: string;
  const exactPolicy = (block: 'signatures' | 'provenance') => {
    const identities = `  identities:\n    - issuer: ${k!.issuer}\n      subject: ${k!.identity}`;
    return block === 'signatures'
      ? `signatures:\n  mode: require\n${identities}\nprovenance:\n  mode: off`
      : `signatures:\n  mode: off\nprovenance:\n  mode: require\n${identities}`;
  };
  const cosignKeyless = (args: string[], token: string) =>
    runCosign(
      [...args, '--identity-token', token, '--signing-config', k!.signingConfigPath, '--trusted-root', k!.trustedRootPath, ...cosignRegistryFlags(), '-y'],
      cosignEnv(),
    );
  const ok = (r: { code: number; stderr: string; command: string }) => expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
  const notPromoted = async (img: StagedImage) => {
    const repo = { host: production, repository: img.repository };
    expect(await client.headManifest({ ...repo, tag: 'v1' })).toBeUndefined();
    expect(await client.headManifest({ ...repo, digest: img.digest })).toBeUndefined();
    expect(await client.headManifest({ ...repo, tag: signatureTag(img.digest) })).toBeUndefined();
  };

  beforeAll(async () => {
    expect(LOOKALIKE).toMatch(new RegExp(k!.identity)); // what an unanchored pattern of the identity accepts
    dir = await mkdtemp(join(tmpdir(), 'promoter-lookalike-'));
    lookalikeToken = join(dir, 'lookalike-token');
    await writeFile(lookalikeToken, mintToken(k!, { email: LOOKALIKE }));
    worker = await startTestWorker('lookalike');
  }, 120_000);
  afterAll(async () => worker?.stop());

  it('Validate, exact subject under require: the lookalike (bundle and legacy .sig) is VERIFICATION_FAILED, the real identity promoted', async () => {
    const prefix = uniqueName('lookalike-sig');
    const staged = await seedImages(client, prefix, ['trusted', 'lookalike']);
    ok(await cosignKeyless(['sign', staged.trusted!.ref], k!.tokenFile));
    ok(await cosignKeyless(['sign', staged.lookalike!.ref], lookalikeToken));
    // The legacy format too: its evidence is the timestamp (cosign signs it only through Rekor v1).
    ok(
      await runCosign(
        [
          'sign',
          '--new-bundle-format=false',
          '--use-signing-config=false',
          '--tlog-upload=false',
          '--fulcio-url',
          k!.fulcioURL,
          '--timestamp-server-url',
          k!.tsaURL,
          '--identity-token',
          lookalikeToken,
          '--trusted-root',
          k!.trustedRootPath,
          ...cosignRegistryFlags(),
          '-y',
          staged.lookalike!.ref,
        ],
        cosignEnv(),
      ),
    );
    // The certificate really names the lookalike, and cosign, matching exactly, refuses it for the real identity.
    ok(await runCosign(['verify', ...cosignKeylessVerifyFlags(k!, LOOKALIKE), ...cosignRegistryFlags(), staged.lookalike!.ref], cosignEnv()));
    expect((await runCosign(['verify', ...cosignKeylessVerifyFlags(k!), ...cosignRegistryFlags(), staged.lookalike!.ref], cosignEnv())).code).not.toBe(0);

    const manifest = await writeManifest({
      prefix,
      destinations: [production],
      policy: exactPolicy('signatures'),
      images: Object.values(staged).map((i) => ({ name: i.name, digest: i.digest })),
    });
    const { code, report } = await promote(manifest, worker.taskQueue, { timeoutMs: 240_000 });
    expect(code).toBe(1);
    expect(report.signaturesVerified).toMatchObject({ mode: 'require', checked: 2, passed: 1, failed: 1, blocked: 1 });
    const failure = report.failures.find((f) => f.edge.includes(staged.lookalike!.repository));
    expect(failure).toMatchObject({ phase: 'validate', code: 'VERIFICATION_FAILED' });
    expect(failure!.error).toContain(LOOKALIKE);
    expect(report.failures).toHaveLength(1);
    expect(report.edges).toMatchObject({ promoted: 1, failed: 1 });
    expect((await client.headManifest({ host: production, repository: staged.trusted!.repository, tag: 'v1' }))?.digest).toBe(staged.trusted!.digest);
    await notPromoted(staged.lookalike!);
  }, 300_000);

  it('Provenance by identity, exact subject under require: SLSA provenance attested by the lookalike is VERIFICATION_FAILED', async () => {
    const prefix = uniqueName('lookalike-prov');
    const staged = await seedImages(client, prefix, ['trusted', 'lookalike']);
    const predicate = join(dir, 'provenance.json');
    await writeFile(
      predicate,
      JSON.stringify(
        slsaPredicate({
          builderId: 'https://github.com/kubernetes/release/.github/workflows/build.yaml@refs/heads/main',
          source: 'git+https://github.com/kubernetes/release@refs/heads/main',
        }),
      ),
    );
    for (const [img, token] of [
      [staged.trusted!, k!.tokenFile],
      [staged.lookalike!, lookalikeToken],
    ] as const) {
      ok(await cosignKeyless(['attest', '--type', 'slsaprovenance1', '--predicate', predicate, img.ref], token));
    }
    const manifest = await writeManifest({
      prefix,
      destinations: [production],
      policy: exactPolicy('provenance'),
      images: Object.values(staged).map((i) => ({ name: i.name, digest: i.digest })),
    });
    const { code, report } = await promote(manifest, worker.taskQueue, { timeoutMs: 240_000 });
    expect(code).toBe(1);
    expect(report.provenance).toMatchObject({ mode: 'require', checked: 2, passed: 1, failed: 1, blocked: 1 });
    expect(report.failures).toEqual([
      expect.objectContaining({ phase: 'provenance', code: 'VERIFICATION_FAILED', edge: expect.stringContaining(staged.lookalike!.repository) }),
    ]);
    expect(report.failures[0]!.error).toContain(LOOKALIKE);
    expect((await client.headManifest({ host: production, repository: staged.trusted!.repository, tag: 'v1' }))?.digest).toBe(staged.trusted!.digest);
    await notPromoted(staged.lookalike!);
  }, 300_000);

  it('a bundle that reaches the worker without promoter validate (an unanchored subjectRegExp) fails Setup: nothing is read or written', async () => {
    const prefix = uniqueName('lookalike-bundle');
    const staged = await seedImages(client, prefix, ['app']);
    const bundle: ManifestBundle = {
      version: 1,
      projects: [
        {
          name: 'p',
          file: 'promoter.yaml',
          source: `${s.registries.staging}/${prefix}`,
          destinations: [`${production}/${prefix}`],
          images: [{ name: 'app', dmap: { [staged.app!.digest]: ['v1'] } }],
          signatures: { mode: 'require', keys: [], identities: [{ issuer: k!.issuer, subjectRegExp: k!.identity }] },
          provenance: { mode: 'off', builders: [], sources: [], keys: [], identities: [] },
        },
      ],
    };
    const sha = bundleSha256(bundle);
    const store = new AuditStore({ bucket: s.s3.bucket, endpoint: s.s3.endpoint, region: s.s3.region, forcePathStyle: true });
    await store.writeOnce(bundleKey(sha), canonicalJson(bundle), 'application/json');
    const handle = await runs.client.workflow.start(promotionWorkflow, {
      taskQueue: worker.taskQueue,
      workflowId: uniqueName('promote-by-hand'),
      args: [{ bundleKey: bundleKey(sha), bundleSha256: sha, confirm: true, options: DEFAULT_RUN_OPTIONS, origin: 'by hand' }],
    });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const report = ((err as WorkflowFailedError).cause as { details?: unknown[] }).details?.[0] as RunReport;
    expect(report.phases.setup.status).toBe('failed');
    expect(report.phases.setup.summary).toMatch(/promoter\.yaml: .*subjectRegExp .* is not anchored/);
    expect(report.phases.plan.status).toBe('skipped');
    await notPromoted(staged.app!);
  }, 180_000);
});
