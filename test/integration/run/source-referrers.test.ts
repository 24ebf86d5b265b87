// The referrers a build attached to a staging image (an SBOM, a provenance document) travel with the
// image to every destination, in the scheme each one supports: staging (distribution 2.8) holds
// them in the `sha256-<hex>` fallback index; production and mirror-b (distribution) get that index,
// mirror-a (olareg) serves them through the referrers API. The promoter's own signature and
// attestation land next to them: Sign and Attest merge into the index Promote wrote, never over it.
// Staging's signatures stay behind: what is promoted carries the promoter's signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Referrers, RegistryClient } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { attach } from '../../support/referrers';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

const SBOM = 'application/spdx+json';
const PROVENANCE = 'application/vnd.in-toto+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker('source-referrers');
});
afterAll(async () => worker?.stop());

describe('referrers the source holds', () => {
  it('go to every destination in its scheme, next to the promoter signature and attestation', async () => {
    const s = stack();
    const prefix = uniqueName('src-referrers');
    const client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const source = { host: s.registries.staging, repository: `${prefix}/app` };
    const image = await pushRandomImage(client, source.host, source.repository, { seed: prefix, layers: 1, layerSize: 2048 });
    const sbom = await attach(client, source, image, SBOM, `{"spdxVersion":"SPDX-2.3","name":"${prefix}"}`);
    const provenance = await attach(client, source, image, PROVENANCE, `{"_type":"https://in-toto.io/Statement/v1","name":"${prefix}"}`);
    // The staging signature (a sigstore bundle, no predicate type) stays behind: production carries the promoter's.
    const stagingSignature = await attach(client, source, image, BUNDLE, `{"mediaType":"${BUNDLE}","name":"${prefix}"}`);
    // Staging has no referrers API: the build's referrers are in its fallback index.
    expect((await new Referrers(client).list(source, image.digest)).map((d) => d.digest).sort()).toEqual([sbom, provenance, stagingSignature].sort());

    const destinations = [s.registries.production, s.registries.all.mirrorA, s.registries.all.mirrorB];
    const manifest = await writePlainManifest(
      `${source.host}/${prefix}`,
      destinations.map((d) => `${d}/${prefix}`),
      [{ name: 'app', digest: image.digest }],
      {
        // The staging "signature" here is a stand-in that no key verifies: this test is about what travels.
        policy: 'signatures:\n  mode: off',
      },
    );
    const report = parseJsonOutput<RunReport>(
      await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue }),
    );
    expect(report.status).toBe('succeeded');
    expect(report.transfer.referrersCopied).toBe(2 * destinations.length);

    for (const host of destinations) {
      const repo = { host, repository: `${prefix}/app` };
      const fresh = new Referrers(client); // learns the destination's scheme anew
      const listed = await fresh.list(repo, image.digest);
      const types = listed.map((d) => d.artifactType);
      // The build's two, byte for byte, and the promoter's signature, promotion attestation and verification summary bundles.
      expect(
        listed.map((d) => d.digest),
        host,
      ).toEqual(expect.arrayContaining([sbom, provenance]));
      expect(
        listed.map((d) => d.digest),
        host,
      ).not.toContain(stagingSignature);
      expect(types.filter((t) => t === BUNDLE).length, host).toBe(3);
      expect(listed).toHaveLength(5);
      expect(fresh.servesApi(host), host).toBe(host === s.registries.all.mirrorA);
      for (const d of [sbom, provenance]) {
        const copied = await client.getManifest({ ...repo, digest: d });
        expect(copied.digest).toBe(d);
        expect(listed.find((x) => x.digest === d)!.annotations).toEqual({ 'org.opencontainers.image.created': '2026-11-29T00:00:00Z' });
      }
    }
  }, 180_000);
});
