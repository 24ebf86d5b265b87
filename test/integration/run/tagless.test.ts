// Tagless digests (`"sha256:…": []`): promoted, signed and attested like tagged ones, kept by the
// nightly re-mirroring, and free on a no-op rerun although tags/list never shows them (the
// promoter's tag record remembers the tagless digests it placed or verified).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, type RequestEvent } from '../../../lib/oci';
import type { MirrorReport } from '../../../lib/run/mirror-types';
import type { RunReport } from '../../../lib/run/report';
import { PROMOTION_PREDICATE_TYPE, signatureTag } from '../../../lib/signing';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { COSIGN_OFFLINE, findCosign, runCosign } from '../../support/cosign';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

let worker: TestWorker;
let client: RegistryClient;
let prefix: string;
let manifest: string;
let env: Record<string, string>;
let first: RunReport;
/** tl: a tagless digest beside a tagged one; only: a repository holding nothing but a tagless multi-arch index. */
const d = { tagless: '', tagged: '', index: '', children: [] as string[] };
const s = stack();
const destinations = [s.registries.production, s.registries.all.mirrorA, s.registries.all.mirrorB];

/** The worker's registry requests while `body` runs. */
async function requestsDuring(body: () => Promise<void>): Promise<RequestEvent[]> {
  const seen: RequestEvent[] = [];
  const stop = worker.telemetry.onRequest((e) => seen.push(e));
  try {
    await body();
  } finally {
    stop();
  }
  return seen;
}

const naming = (events: RequestEvent[], digests: string[]) => events.filter((e) => digests.some((x) => e.path.includes(x.slice(7))));

beforeAll(async () => {
  client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  prefix = uniqueName('tagless');
  worker = await startTestWorker('tagless');
  env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
  const staging = s.registries.staging;
  d.tagless = (await pushRandomImage(client, staging, `${prefix}/tl`, { seed: `${prefix}/tl-a`, layers: 1, layerSize: 1024 })).digest;
  d.tagged = (await pushRandomImage(client, staging, `${prefix}/tl`, { seed: `${prefix}/tl-b`, layers: 1, layerSize: 1024 })).digest;
  const multiArch = { seed: `${prefix}/only`, layers: 1, layerSize: 1024, platforms: ['linux/amd64', 'linux/arm64'] };
  const index = await pushRandomImage(client, staging, `${prefix}/only`, multiArch);
  d.index = index.digest;
  d.children = index.children.map((c) => c.digest);
  manifest = join(await mkdtemp(join(tmpdir(), 'promoter-tagless-')), 'promoter-manifest.yaml');
  await writeFile(
    manifest,
    [
      'registries:',
      `  - name: ${staging}/${prefix}`,
      '    src: true',
      ...destinations.map((h) => `  - name: ${h}/${prefix}`),
      'images:',
      '  - name: tl',
      '    dmap:',
      `      "${d.tagless}": []`,
      `      "${d.tagged}": ["v1"]`,
      '  - name: only',
      '    dmap:',
      `      "${d.index}": []`,
      '',
    ].join('\n'),
  );
  const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  first = parseJsonOutput<RunReport>(r);
}, 240_000);
afterAll(async () => worker?.stop());

describe('tagless digests', () => {
  it('are promoted, signed and attested like tagged ones: one edge per destination each', () => {
    expect(first.status).toBe('succeeded');
    // tl: the tagless digest and v1, only: the index, at three destinations
    expect(first.edges).toMatchObject({ total: 9, toPromote: 9, promoted: 9, alreadyPresent: 0, failed: 0 });
    expect(first.signatures).toMatchObject({ signed: 3, manifestsSigned: 5 }); // the index with its two children
    expect(first.attestations.written).toBe(3);
  });

  it('skopeo reads them by digest at every destination, and the tag list shows no tag of theirs', async () => {
    for (const host of destinations) {
      expect(await skopeoDigest(`${host}/${prefix}/tl@${d.tagless}`)).toBe(d.tagless);
      expect(await skopeoDigest(`${host}/${prefix}/only@${d.index}`)).toBe(d.index);
      for (const child of d.children) expect(await skopeoDigest(`${host}/${prefix}/only@${child}`)).toBe(child);
      const tags = await client.listTags(host, `${prefix}/only`);
      expect(tags.filter((t) => !t.startsWith('sha256-'))).toEqual([]);
    }
  });

  it.skipIf(!findCosign())('the real cosign verifies their signatures in both formats at every destination, and the attestation', async () => {
    const cosignEnv = { DOCKER_CONFIG: s.dockerConfigDir };
    for (const host of destinations) {
      for (const ref of [`${host}/${prefix}/tl@${d.tagless}`, `${host}/${prefix}/only@${d.index}`]) {
        for (const extra of [[], ['--new-bundle-format=false']]) {
          const r = await runCosign(['verify', '--key', s.publicKeyPath, ...extra, ...COSIGN_OFFLINE.verify, ref], cosignEnv);
          expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
        }
      }
    }
    const atProduction = `${s.registries.production}/${prefix}/tl@${d.tagless}`;
    const att = await runCosign(
      ['verify-attestation', '--key', s.publicKeyPath, '--type', PROMOTION_PREDICATE_TYPE, ...COSIGN_OFFLINE.verify, atProduction],
      cosignEnv,
    );
    expect(att.code, `${att.command}\n${att.stderr}`).toBe(0);
  });

  it('a no-op rerun writes nothing and sends no request about a tagless digest', async () => {
    const writesBefore = worker.writeRequests();
    let again: RunReport | undefined;
    const events = await requestsDuring(async () => {
      again = parseJsonOutput<RunReport>(await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], env));
    });
    expect(again!.edges).toMatchObject({ total: 9, toPromote: 0, promoted: 0, alreadyPresent: 9 });
    expect(again!.signatures).toMatchObject({ signed: 0, alreadySigned: 3, mirrored: 0 });
    expect(again!.attestations.written).toBe(0);
    expect(worker.writeRequests() - writesBefore).toBe(0);
    expect(naming(events, [d.tagless, d.index, ...d.children]).map((e) => `${e.method} ${e.host}${e.path}`)).toEqual([]);
    // 4 pings (with their token requests) + one tags/list per destination repository (2 x 3)
    const registryCalls = events.filter((e) => e.operation !== 'token request');
    console.info(`tagless no-op rerun: ${events.length} requests (${registryCalls.length} to registries) for 9 edges in 6 repositories`);
    expect(registryCalls.length).toBeLessThanOrEqual(4 + 6);
  }, 120_000);

  it('--verify-tags looks again: one HEAD per tagless digest and destination', async () => {
    const events = await requestsDuring(async () => {
      const r = parseJsonOutput<RunReport>(await runCli(['run', '--manifest', manifest, '--wait', '--json', '--verify-tags'], env));
      expect(r.edges).toMatchObject({ total: 9, alreadyPresent: 9 });
    });
    const heads = naming(events, [d.tagless, d.index]).filter((e) => e.method === 'HEAD');
    expect(heads.length).toBe(2 * destinations.length);
  }, 120_000);

  it('the nightly re-mirroring puts back a tagless digest signature deleted on a mirror, and costs nothing per digest when in sync', async () => {
    const mirrorA = s.registries.all.mirrorA;
    const sig = await client.headManifest({ host: mirrorA, repository: `${prefix}/only`, tag: signatureTag(d.index) });
    expect(sig).toBeDefined();
    expect(await client.deleteManifest({ host: mirrorA, repository: `${prefix}/only`, digest: sig!.digest })).toBe(true);

    const dry = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--wait', '--json'], env));
    expect(dry.failures.map((f) => `${f.error.split(':')[0]} ${f.edge}`)).toEqual([`SIGNATURE_OUT_OF_SYNC ${mirrorA}/${prefix}/only@${d.index}`]);
    const fixed = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--confirm', '--wait', '--json'], env));
    expect(fixed).toMatchObject({ status: 'succeeded', digests: 3, signedNow: 0, mirrored: 1 });
    expect((await client.headManifest({ host: mirrorA, repository: `${prefix}/only`, tag: signatureTag(d.index) }))?.digest).toBe(sig!.digest);
    if (findCosign()) {
      const ref = `${mirrorA}/${prefix}/only@${d.index}`;
      const r = await runCosign(['verify', '--key', s.publicKeyPath, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, ref], {
        DOCKER_CONFIG: s.dockerConfigDir,
      });
      expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
    }

    let inSync: MirrorReport | undefined;
    const events = await requestsDuring(async () => {
      inSync = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--confirm', '--wait', '--json'], env));
    });
    expect(inSync).toMatchObject({ status: 'succeeded', digests: 3, mirrored: 0, alreadyInSync: 3 });
    expect(naming(events, [d.tagless, d.index, ...d.children]).map((e) => `${e.method} ${e.host}${e.path}`)).toEqual([]);
  }, 180_000);
});
