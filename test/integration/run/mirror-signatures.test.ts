// The nightly repair: signatures missing or different on a mirror are copied again, digests that
// were promoted but never signed get signed; and the Temporal Schedule that runs it every night.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import type { MirrorReport } from '../../../lib/run/mirror-types';
import type { RunReport } from '../../../lib/run/report';
import { loadSigningKey, mergeSignatureArtifact, signatureLayer, signatureTag } from '../../../lib/signing';
import { parseJsonOutput, runCli } from '../../support/cli';
import { COSIGN_OFFLINE, findCosign, runCosign } from '../../support/cosign';
import { buildScenario, type Scenario } from '../../support/scenario';
import { stack } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

let worker: TestWorker;
let scenario: Scenario;
let env: Record<string, string>;

beforeAll(async () => {
  [worker, scenario] = await Promise.all([startTestWorker('mirror'), buildScenario()]);
  env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
  const r = await runCli(['run', '--manifest', scenario.manifestFile, '--confirm', '--wait', '--json'], env);
  expect(parseJsonOutput<RunReport>(r).edges.promoted).toBe(7);
}, 240_000);
afterAll(async () => worker?.stop());

describe('mirror-signatures', () => {
  it('restores a deleted and a replaced mirror signature, and signs a digest nobody signed', async () => {
    const { client, prefix, digests } = scenario;
    const tag = signatureTag(digests.b);
    const repoB = `${prefix}/b`;
    // mirror-a lost b's signature; mirror-b holds a signature by somebody else instead of ours.
    const sigAtA = await client.headManifest({ host: scenario.mirrorA, repository: repoB, tag });
    expect(sigAtA).toBeDefined();
    expect(await client.deleteManifest({ host: scenario.mirrorA, repository: repoB, digest: sigAtA!.digest })).toBe(true);
    const stranger = loadSigningKey({ pem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
    const foreign = mergeSignatureArtifact(undefined, signatureLayer(stranger, { dockerReference: `${scenario.mirror}/${repoB}`, digest: digests.b })).artifact;
    for (const b of foreign.blobs) await client.pushBlob(scenario.mirror, repoB, b.bytes);
    await client.putManifest({ host: scenario.mirror, repository: repoB, tag }, foreign.manifest, foreign.mediaType);
    // an image that reached production and mirror-a outside any promotion: in place, never signed
    const d = await pushRandomImage(client, scenario.staging, `${prefix}/d`, { seed: `${prefix}/d`, layers: 1, layerSize: 512 });
    for (const host of [scenario.production, scenario.mirrorA]) {
      await copyImage(client, { host: scenario.staging, repository: `${prefix}/d`, digest: d.digest }, { host, repository: `${prefix}/d` }, { tags: ['v4'] });
    }
    const manifest = scenario.manifestFile.replace(/promoter-manifest\.yaml$/, 'with-d.yaml');
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(manifest, `${await readFile(scenario.manifestFile, 'utf8')}  - name: d\n    dmap:\n      "${d.digest}": ["v4"]\n`);

    const outOfSync = (r: MirrorReport) => r.failures.map((f) => `${f.error.split(':')[0]} ${f.edge}`).sort();
    // The cheap check (tags/list and the records) sees the deleted signature and the unsigned image...
    const dry = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--wait', '--json'], env));
    expect(dry.status).toBe('failed'); // report-only run: it lists what is out of sync
    expect(outOfSync(dry)).toEqual(
      [
        `SIGNATURE_OUT_OF_SYNC ${scenario.mirrorA}/${prefix}/b@${digests.b}`,
        `SIGNATURE_OUT_OF_SYNC ${scenario.mirrorA}/${prefix}/d@${d.digest}`,
        `UNSIGNED ${scenario.production}/${prefix}/d@${d.digest}`,
      ].sort(),
    );
    // ...verifying every signature also sees the one replaced behind the record.
    const verified = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--verify', '--wait', '--json'], env));
    expect(outOfSync(verified)).toEqual([...outOfSync(dry), `SIGNATURE_OUT_OF_SYNC ${scenario.mirror}/${prefix}/b@${digests.b}`].sort());
    expect(await client.headManifest({ host: scenario.mirrorA, repository: repoB, tag })).toBeUndefined(); // wrote nothing

    const fixed = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--verify', '--confirm', '--wait', '--json'], env));
    expect(fixed.status).toBe('succeeded');
    expect(fixed.signedNow).toBe(1); // d
    expect(fixed.mirrored).toBe(4); // b at mirror-a and mirror-b, d at production and mirror-a
    // mirror-a lost its copy: it gets the primary's bytes again; mirror-b keeps the stranger's layer and gains ours.
    const sigAtProd = await client.getManifest({ host: scenario.production, repository: repoB, tag });
    expect((await client.headManifest({ host: scenario.mirrorA, repository: repoB, tag }))!.digest).toBe(sigAtProd.digest);
    const atB = JSON.parse(Buffer.from((await client.getManifest({ host: scenario.mirror, repository: repoB, tag })).bytes).toString()) as {
      layers: { digest: string }[];
    };
    const ours = (JSON.parse(Buffer.from(sigAtProd.bytes).toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
    expect(atB.layers.map((l) => l.digest)).toEqual([foreign.layer!.descriptor.digest, ours]);
    if (findCosign()) {
      const s = stack();
      for (const ref of [`${scenario.mirror}/${repoB}@${digests.b}`, `${scenario.mirrorA}/${prefix}/d@${d.digest}`]) {
        const r = await runCosign(['verify', '--key', s.publicKeyPath, '--new-bundle-format=false', ...COSIGN_OFFLINE.verify, ref], {
          DOCKER_CONFIG: s.dockerConfigDir,
        });
        expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
      }
    }

    const again = parseJsonOutput<MirrorReport>(await runCli(['mirror-signatures', '--manifest', manifest, '--confirm', '--wait', '--json'], env));
    expect(again).toMatchObject({ status: 'succeeded', signedNow: 0, mirrored: 0, alreadyInSync: again.digests });
  }, 240_000);
});

describe('schedule', () => {
  it('creates, describes, updates, triggers and deletes the nightly schedule', async () => {
    await runCli(['schedule', 'delete'], env); // leftover from an interrupted run, if any
    const created = await runCli(['schedule', 'create', '--cron', '0 3 * * *'], env);
    expect(created.code, created.stderr).toBe(0);
    const described = parseJsonOutput<{ nextActionTimes: string[]; timezone?: string }>(await runCli(['schedule', 'describe', '--json'], env));
    expect(new Date(described.nextActionTimes[0]!).getUTCHours()).toBe(3);
    expect(new Date(described.nextActionTimes[0]!).getUTCMinutes()).toBe(0);
    expect((await runCli(['schedule', 'update', '--cron', '30 4 * * *'], env)).code).toBe(0);
    const updated = parseJsonOutput<{ nextActionTimes: string[] }>(await runCli(['schedule', 'describe', '--json'], env));
    expect(new Date(updated.nextActionTimes[0]!).getUTCHours()).toBe(4);
    expect(new Date(updated.nextActionTimes[0]!).getUTCMinutes()).toBe(30);
    expect((await runCli(['schedule', 'trigger'], env)).code).toBe(0);
    let recent: { recentActions: { workflowId: string }[] } = { recentActions: [] };
    for (let i = 0; i < 50 && recent.recentActions.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      recent = parseJsonOutput(await runCli(['schedule', 'describe', '--json'], env));
    }
    expect(recent.recentActions.length).toBe(1);
    expect((await runCli(['schedule', 'delete'], env)).code).toBe(0);
    expect((await runCli(['schedule', 'describe'], env)).code).toBe(1);
  }, 120_000);
});
