// One project's policy cannot switch off another's. Two projects of one thin tree name the same
// unsigned staging digest: `aaa` with `signatures: mode: off`, `zzz` with `mode: require`. A
// confirmed run promotes nothing of that digest and signs it nowhere (the report says it was
// blocked, naming zzz); aaa's second digest, which only aaa names, is promoted and signed.
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { stack, uniqueName } from '../../support/stack-env';
import { countSignatures, registryClient, seedImages, tagOf } from '../../support/supply-chain';
import { startTestWorker, type TestWorker } from '../../support/worker';

describe('per-project policies on a shared digest', () => {
  const s = stack();
  const destinations = [s.registries.production, s.registries.all.mirrorA];
  const client = registryClient();
  let worker: TestWorker;
  beforeAll(async () => {
    worker = await startTestWorker('project-policies');
  }, 120_000);
  afterAll(async () => worker?.stop());

  /** A thin tree with one project per entry, every project promoting from `prefix` into `prefix` at both destinations. */
  async function thinTree(
    prefix: string,
    projects: Record<string, { policy: string; images: Record<string, { digest: string; tag: string }> }>,
  ): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'promoter-project-policies-'));
    await mkdir(join(root, 'keys'));
    // The key the promoter signs with verifies the "release" signatures here: there are none.
    await copyFile(s.publicKeyPath, join(root, 'keys', 'release.pub'));
    for (const [name, p] of Object.entries(projects)) {
      await mkdir(join(root, 'manifests', name), { recursive: true });
      await mkdir(join(root, 'images', name), { recursive: true });
      const registries = [`  - name: ${s.registries.staging}/${prefix}`, '    src: true', ...destinations.map((d) => `  - name: ${d}/${prefix}`)];
      await writeFile(join(root, 'manifests', name, 'promoter-manifest.yaml'), ['registries:', ...registries, p.policy, ''].join('\n'));
      const images = Object.entries(p.images).flatMap(([image, { digest, tag }]) => [`- name: ${image}`, '  dmap:', `    "${digest}": ["${tag}"]`]);
      await writeFile(join(root, 'images', name, 'images.yaml'), [...images, ''].join('\n'));
    }
    return root;
  }

  it("aaa's mode: off does not switch off zzz's require: the unsigned shared digest is promoted and signed nowhere; aaa's own digest promotes", async () => {
    const prefix = uniqueName('project-policies');
    const staged = await seedImages(client, prefix, ['shared', 'own']);
    const shared = staged.shared!;
    const own = staged.own!;
    const tree = await thinTree(prefix, {
      aaa: {
        policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
        images: { shared: { digest: shared.digest, tag: 'aaa-v1' }, own: { digest: own.digest, tag: 'v1' } },
      },
      zzz: {
        policy: 'signatures:\n  mode: require\n  keys: [../../keys/release.pub]\nprovenance:\n  mode: off',
        images: { shared: { digest: shared.digest, tag: 'zzz-v1' } },
      },
    });

    const r = await runCli(['run', '--thin-manifest-dir', tree, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue }, 180_000);
    const report = parseJsonOutput<RunReport>(r);
    expect(r.code, r.stderr).toBe(1);
    expect(report.status).toBe('failed');
    expect(report.signaturesVerified).toMatchObject({ mode: 'mixed', blocked: 1 });
    expect(report.failures.map((f) => [f.phase, f.code, f.edge, f.error])).toEqual([
      ['validate', 'MISSING', `${s.registries.staging}/${shared.repository}@${shared.digest}`, 'zzz: no signature found'],
    ]);
    expect(report.edges).toMatchObject({ toPromote: 6, promoted: 2, failed: 4 });

    const pubPem = await readFile(s.publicKeyPath, 'utf8');
    for (const host of destinations) {
      // Nothing of the shared digest anywhere: no manifest, neither project's tag, no signature.
      expect(await client.headManifest({ host, repository: shared.repository, digest: shared.digest })).toBeUndefined();
      for (const tag of ['aaa-v1', 'zzz-v1', tagOf(shared.digest, '.sig'), tagOf(shared.digest)]) {
        expect(await client.headManifest({ host, repository: shared.repository, tag })).toBeUndefined();
      }
      expect((await client.headManifest({ host, repository: own.repository, tag: 'v1' }))?.digest).toBe(own.digest);
      const signatures = await countSignatures(client, host, own.repository, own.digest, pubPem);
      expect(signatures.sigLayersByKey + signatures.signBundlesByKey).toBeGreaterThan(0);
    }
  }, 300_000);
});
