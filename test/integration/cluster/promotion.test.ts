// A confirmed promotion on the real Temporal cluster over mTLS: a worker process and the CLI read
// TEMPORAL_ADDRESS and TEMPORAL_TLS_* as any Temporal application does, the run lives on the
// cluster (not on the dev server), the digests land at every destination and cosign verifies
// what the promoter signed and attested.
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { PROMOTION_PREDICATE_TYPE } from '../../../lib/signing';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { clusterClientEnv, clusterSkipReason, clusterTaskQueue, useCluster } from '../../support/cluster';
import { COSIGN_OFFLINE, findCosign, runCosign } from '../../support/cosign';
import { writePlainManifest } from '../../support/plain-manifest';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { startWorkerProcess } from '../../support/worker-process';

const skip = clusterSkipReason();
const cluster = useCluster();

describe.skipIf(skip)(`promotion on the Temporal cluster over mTLS${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it("promotes, signs and attests; the run is the cluster's, and status and report read it back", async () => {
    const s = stack();
    const prefix = uniqueName('cluster-mtls');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const single = await pushRandomImage(oci, s.registries.staging, `${prefix}/single`, { seed: `${prefix}/single`, layers: 2, layerSize: 2048 });
    const multi = await pushRandomImage(oci, s.registries.staging, `${prefix}/multi`, {
      seed: `${prefix}/multi`,
      layers: 1,
      layerSize: 2048,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const destinations = [s.registries.production, ...s.registries.mirrors];
    const manifest = await writePlainManifest(
      `${s.registries.staging}/${prefix}`,
      destinations.map((d) => `${d}/${prefix}`),
      [
        { name: 'single', digest: single.digest, tags: ['v1'] },
        { name: 'multi', digest: multi.digest, tags: ['v2'] },
      ],
    );

    const taskQueue = clusterTaskQueue('cluster-mtls');
    const env = clusterClientEnv('mtls', { PROMOTER_TASK_QUEUE: taskQueue });
    const worker = await startWorkerProcess(taskQueue, env);
    cluster.workers.push(worker);
    expect(worker.output()).toContain('127.0.0.1:7243 [namespace default, mTLS with');

    const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], env, 240_000);
    const report = parseJsonOutput<RunReport>(r);
    expect(r.code, r.stderr).toBe(0);
    expect(report.status).toBe('succeeded');
    expect(report.edges).toMatchObject({ total: 6, toPromote: 6, promoted: 6, failed: 0 });
    expect(report.signatures.signed).toBe(2);
    expect(report.attestations.written).toBe(2);

    // The cluster holds the run; the dev server (TEMPORAL_ADDRESS of the dev stack) has never heard of it.
    const described = await cluster.client().workflow.getHandle(report.workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect(described.searchAttributes.PromoterStatus).toEqual(['succeeded']);
    const onDev = await runCli(['status', report.workflowId]);
    expect(onDev.code).toBe(2);
    expect(onDev.stderr).toContain(`no run with id ${report.workflowId}`);
    const status = await runCli(['status', report.workflowId, '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(parseJsonOutput<{ status: string }>(status).status).toBe('succeeded');
    const again = parseJsonOutput<RunReport>(await runCli(['report', report.workflowId, '--json'], env));
    expect(again.edges).toEqual(report.edges);

    for (const host of destinations) {
      expect(await skopeoDigest(`${host}/${prefix}/single:v1`), host).toBe(single.digest);
      expect(await skopeoDigest(`${host}/${prefix}/multi:v2`), host).toBe(multi.digest);
      for (const child of multi.children) expect(await skopeoDigest(`${host}/${prefix}/multi@${child.digest}`)).toBe(child.digest);
    }

    if (!findCosign()) return;
    const cosignEnv = { DOCKER_CONFIG: s.dockerConfigDir };
    for (const host of destinations) {
      for (const extra of [[], ['--new-bundle-format=false']]) {
        const v = await runCosign(
          ['verify', '--key', s.publicKeyPath, ...extra, ...COSIGN_OFFLINE.verify, `${host}/${prefix}/multi@${multi.digest}`],
          cosignEnv,
        );
        expect(v.code, `${v.command}\n${v.stderr}`).toBe(0);
      }
    }
    const attested = `${s.registries.production}/${prefix}/single@${single.digest}`;
    const att = await runCosign(
      ['verify-attestation', '--key', s.publicKeyPath, '--type', PROMOTION_PREDICATE_TYPE, ...COSIGN_OFFLINE.verify, attested],
      cosignEnv,
    );
    expect(att.code, `${att.command}\n${att.stderr}`).toBe(0);
  }, 300_000);
});
