// A Helm chart is an OCI artifact (config application/vnd.cncf.helm.config.v1+json): pushed to
// staging by `helm push`, promoted by digest from a plain manifest, signed and attested like an
// image, and pulled back byte for byte by `helm pull oci://…` from production and every mirror.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MirrorReport } from '../../../lib/run/mirror-types';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { findCosign } from '../../support/cosign';
import { missingTools, registryFlags, runToolOk } from '../../support/interop';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { expectCosignVerifies, expectCraneValidates, expectPromoterReferrers, regctlManifest, regctlReferrers } from './checks';

const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
const skip = missingTools('helm', 'crane', 'regctl');

describe.skipIf(!!skip || !findCosign())('a Helm chart promoted as an OCI artifact', () => {
  const s = stack();
  const { staging, production, mirrorA, mirrorB } = s.registries.all;
  const destinations = [production, mirrorA, mirrorB];
  let worker: TestWorker;
  let work: string;
  let chartFile: string;
  let digest: string;
  let prefix: string;
  let manifest: string;
  let report: RunReport;

  beforeAll(async () => {
    prefix = uniqueName('charts');
    work = await mkdtemp(join(tmpdir(), 'promoter-helm-'));
    const chart = join(work, 'hello');
    await mkdir(join(chart, 'templates'), { recursive: true });
    await writeFile(join(chart, 'Chart.yaml'), `apiVersion: v2\nname: hello\nversion: 0.1.0\ndescription: ${prefix}\n`);
    await writeFile(join(chart, 'values.yaml'), 'replicas: 1\n');
    await writeFile(join(chart, 'templates', 'configmap.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n');
    await runToolOk('helm', ['package', chart, '--destination', work]);
    chartFile = join(work, 'hello-0.1.0.tgz');
    const pushed = await runToolOk('helm', ['push', chartFile, `oci://${staging}/${prefix}`, ...registryFlags(staging)]);
    digest = /Digest: (sha256:[0-9a-f]{64})/.exec(`${pushed.stdout}${pushed.stderr}`)![1]!;

    worker = await startTestWorker('helm');
    manifest = await writePlainManifest(
      `${staging}/${prefix}`,
      destinations.map((h) => `${h}/${prefix}`),
      [{ name: 'hello', digest, tags: ['0.1.0'] }],
    );
    const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
    expect(r.code, r.stderr).toBe(0);
    report = parseJsonOutput<RunReport>(r);
  }, 240_000);
  afterAll(async () => worker?.stop());

  it('is promoted by digest to every destination, signed once and attested', () => {
    expect(report.status).toBe('succeeded');
    expect(report.edges).toMatchObject({ total: 3, promoted: 3, failed: 0 });
    expect(report.signatures).toMatchObject({ signed: 1, manifestsSigned: 1, mirrored: 2 });
    expect(report.attestations.written).toBe(1);
  });

  it('helm pull oci:// returns the pushed chart byte for byte from production and every mirror', async () => {
    const pushed = await readFile(chartFile);
    for (const host of destinations) {
      const into = await mkdtemp(join(work, 'pull-'));
      const r = await runToolOk('helm', ['pull', `oci://${host}/${prefix}/hello`, '--version', '0.1.0', '--destination', into, ...registryFlags(host)]);
      expect(`${r.stdout}${r.stderr}`).toContain(`Digest: ${digest}`);
      expect((await readFile(join(into, 'hello-0.1.0.tgz'))).equals(pushed), `helm pull from ${host}`).toBe(true);
    }
  });

  it('cosign verifies its signatures (both formats) and the promotion attestation everywhere', async () => {
    for (const host of destinations) await expectCosignVerifies(`${host}/${prefix}/hello@${digest}`);
  });

  it('crane validates it and regctl reads the chart manifest and its referrers at every destination', async () => {
    for (const host of destinations) {
      const ref = `${host}/${prefix}/hello@${digest}`;
      await expectCraneValidates(ref);
      const m = await regctlManifest(ref, digest);
      expect((m.config as { mediaType: string }).mediaType).toBe(HELM_CONFIG);
      expectPromoterReferrers(await regctlReferrers(ref), ref);
    }
  });

  it('the nightly re-mirroring finds it in place and signed everywhere', async () => {
    const dry = await runCli(['mirror-signatures', '--manifest', manifest, '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
    const r = parseJsonOutput<MirrorReport>(dry);
    expect(r).toMatchObject({ status: 'dry-run', digests: 1, alreadyInSync: 1, failures: [] });
  }, 120_000);
});
