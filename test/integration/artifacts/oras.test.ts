// Files and WASM modules as OCI artifacts, pushed by `oras push`, promoted from a thin manifest
// layout: a file set with an `artifactType` (empty config), a document attached to it by `oras
// attach` (a manifest whose `subject` is set, listed by digest with no tag), and a WASM module
// (config application/vnd.wasm.config.v0+json, layer application/wasm). `oras pull` returns the
// files byte for byte wherever oras can read (mirror-b's token realm is a loopback name, which
// oras refuses), crane and regctl read them at every destination, cosign verifies them.
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MirrorReport } from '../../../lib/run/mirror-types';
import type { RunReport } from '../../../lib/run/report';
import { OCI_EMPTY } from '../../../lib/oci';
import { randomBytes } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { findCosign } from '../../support/cosign';
import { missingTools, registryFlags, runToolOk } from '../../support/interop';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';
import { expectCosignVerifies, expectCraneValidates, expectPromoterReferrers, regctlManifest, regctlReferrers } from './checks';

const FILES_TYPE = 'application/vnd.example.files.v1';
const SBOM_TYPE = 'application/spdx+json';
const WASM_CONFIG = 'application/vnd.wasm.config.v0+json';
const WASM_LAYER = 'application/wasm';
/** The smallest valid WASM module: magic number and version. */
const WASM_MODULE = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const skip = missingTools('oras', 'crane', 'regctl');

const digestOf = (out: string) => /Digest: (sha256:[0-9a-f]{64})/.exec(out)![1]!;

describe.skipIf(!!skip || !findCosign())('files and WASM modules promoted as OCI artifacts', () => {
  const s = stack();
  const { staging, production, mirrorA, mirrorB } = s.registries.all;
  const destinations = [production, mirrorA, mirrorB];
  const orasReadable = [production, mirrorA];
  let worker: TestWorker;
  let work: string;
  let prefix: string;
  let layout: string;
  let report: RunReport;
  const d = { files: '', sbom: '', wasm: '' };
  const content: Record<string, Buffer> = {};

  beforeAll(async () => {
    prefix = uniqueName('artifacts');
    work = await mkdtemp(join(tmpdir(), 'promoter-oras-'));
    content['notes.txt'] = Buffer.from(`release notes of ${prefix}\n`);
    content['tool.bin'] = Buffer.from(randomBytes(prefix, 40_000));
    content['hello.wasm'] = WASM_MODULE;
    content['sbom.spdx.json'] = Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: prefix }));
    content['wasm-config.json'] = Buffer.from('{}');
    for (const [name, bytes] of Object.entries(content)) await writeFile(join(work, name), bytes);
    const flags = registryFlags(staging);
    const oras = (args: string[]) => runToolOk('oras', [...args, ...flags], { cwd: work });
    // Each file with its own media type: one named as an image layer is a tar to image tools.
    const files = ['notes.txt:text/plain', 'tool.bin:application/octet-stream'];
    d.files = digestOf((await oras(['push', `${staging}/${prefix}/files:v1`, '--artifact-type', FILES_TYPE, ...files])).stdout);
    d.sbom = digestOf((await oras(['attach', `${staging}/${prefix}/files@${d.files}`, '--artifact-type', SBOM_TYPE, `sbom.spdx.json:${SBOM_TYPE}`])).stdout);
    const wasm = ['--config', `wasm-config.json:${WASM_CONFIG}`, `hello.wasm:${WASM_LAYER}`];
    d.wasm = digestOf((await oras(['push', `${staging}/${prefix}/hello-wasm:v1`, ...wasm])).stdout);

    layout = join(work, 'layout');
    await mkdir(join(layout, 'manifests', 'artifacts'), { recursive: true });
    await mkdir(join(layout, 'images', 'artifacts'), { recursive: true });
    await writeFile(
      join(layout, 'manifests', 'artifacts', 'promoter-manifest.yaml'),
      ['registries:', `  - name: ${staging}/${prefix}`, '    src: true', ...destinations.map((h) => `  - name: ${h}/${prefix}`), ''].join('\n'),
    );
    await writeFile(
      join(layout, 'images', 'artifacts', 'images.yaml'),
      ['- name: files', '  dmap:', `    "${d.files}": ["v1"]`, `    "${d.sbom}": []`, '- name: hello-wasm', '  dmap:', `    "${d.wasm}": ["v1"]`, ''].join(
        '\n',
      ),
    );
    worker = await startTestWorker('oras');
    const r = await runCli(['run', '--thin-manifest-dir', layout, '--confirm', '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
    expect(r.code, r.stderr).toBe(0);
    report = parseJsonOutput<RunReport>(r);
  }, 240_000);
  afterAll(async () => worker?.stop());

  it('promotes the file set, the attached document and the WASM module by digest, signs and attests each', () => {
    expect(report.status).toBe('succeeded');
    // files: v1 and the tagless attached document; hello-wasm: v1; at three destinations
    expect(report.edges).toMatchObject({ total: 9, promoted: 9, failed: 0 });
    expect(report.signatures).toMatchObject({ signed: 3, manifestsSigned: 3 });
    expect(report.attestations.written).toBe(3);
    expect(report.transfer.referrersCopied).toBe(3); // the attached document went along with the file set too
  });

  it('oras pull returns every file byte for byte wherever oras reads', async () => {
    for (const host of orasReadable) {
      const into = await mkdtemp(join(work, 'pull-'));
      await runToolOk('oras', ['pull', `${host}/${prefix}/files:v1`, '-o', into, ...registryFlags(host)]);
      await runToolOk('oras', ['pull', `${host}/${prefix}/files@${d.sbom}`, '-o', into, ...registryFlags(host)]);
      await runToolOk('oras', ['pull', `${host}/${prefix}/hello-wasm:v1`, '-o', into, ...registryFlags(host)]);
      for (const name of ['notes.txt', 'tool.bin', 'sbom.spdx.json', 'hello.wasm']) {
        expect((await readFile(join(into, name))).equals(content[name]!), `${name} from ${host}`).toBe(true);
      }
    }
  });

  it('oras discover finds the attached document next to the promoter signature', async () => {
    for (const host of orasReadable) {
      const out = await runToolOk('oras', ['discover', `${host}/${prefix}/files@${d.files}`, '--format', 'json', ...registryFlags(host)]);
      const found = (JSON.parse(out.stdout) as { referrers?: { digest: string; artifactType: string }[] }).referrers ?? [];
      expect(
        found.map((r) => r.digest),
        host,
      ).toContain(d.sbom);
      expect(found.filter((r) => r.artifactType === SBOM_TYPE).length, host).toBe(1);
    }
  });

  it('crane validates them and regctl reads their manifests and referrers at every destination', async () => {
    for (const host of destinations) {
      const files = await regctlManifest(`${host}/${prefix}/files@${d.files}`, d.files);
      expect(files).toMatchObject({ artifactType: FILES_TYPE, config: { mediaType: OCI_EMPTY } });
      const sbom = await regctlManifest(`${host}/${prefix}/files@${d.sbom}`, d.sbom);
      expect(sbom).toMatchObject({ artifactType: SBOM_TYPE, subject: { digest: d.files } });
      const wasm = await regctlManifest(`${host}/${prefix}/hello-wasm@${d.wasm}`, d.wasm);
      expect(wasm).toMatchObject({ config: { mediaType: WASM_CONFIG }, layers: [{ mediaType: WASM_LAYER }] });
      for (const [repo, digest] of [
        ['files', d.files],
        ['files', d.sbom],
        ['hello-wasm', d.wasm],
      ] as const) {
        const ref = `${host}/${prefix}/${repo}@${digest}`;
        await expectCraneValidates(ref);
        const referrers = await regctlReferrers(ref);
        expectPromoterReferrers(referrers, ref);
        if (digest === d.files)
          expect(
            referrers.map((r) => r.digest),
            ref,
          ).toContain(d.sbom);
      }
    }
  }, 120_000);

  it('cosign verifies the signatures (both formats) and the promotion attestation of each everywhere', async () => {
    for (const host of destinations) {
      for (const [repo, digest] of [
        ['files', d.files],
        ['files', d.sbom],
        ['hello-wasm', d.wasm],
      ] as const) {
        await expectCosignVerifies(`${host}/${prefix}/${repo}@${digest}`);
      }
    }
  }, 180_000);

  it('the nightly re-mirroring finds all three in place and signed everywhere', async () => {
    const dry = await runCli(['mirror-signatures', '--thin-manifest-dir', layout, '--wait', '--json'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
    const r = parseJsonOutput<MirrorReport>(dry);
    expect(r).toMatchObject({ status: 'dry-run', digests: 3, alreadyInSync: 3, failures: [] });
  }, 120_000);
});
