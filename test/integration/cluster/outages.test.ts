// The cluster losing a part in the middle of Promote: the history service SIGKILLed, PostgreSQL
// restarted. The promotion waits for it to come back and completes, every edge exact: each
// destination repository holds its one tag at the right digest, nothing missing, nothing twice.
// Staging sits behind a proxy that slows its blobs, so the outage lands while Promote copies.
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import type { RunProgress, RunReport } from '../../../lib/run/report';
import { mapPool } from '../../../lib/util/pool';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { progressQuery } from '../../../workflows/promotion';
import { parseJsonOutput, runCli } from '../../support/cli';
import {
  clusterClientEnv,
  clusterPid,
  clusterSkipReason,
  clusterTaskQueue,
  killClusterProcess,
  restoreCluster,
  stopClusterProcess,
  useCluster,
  type ClusterProcess,
} from '../../support/cluster';
import { FaultProxy } from '../../support/fault-proxy';
import { writePlainManifest } from '../../support/plain-manifest';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { startWorkerProcess } from '../../support/worker-process';

const skip = clusterSkipReason();
const cluster = useCluster();
const IMAGES = 12;
const OUTAGE_MS = 8_000;
const BATCHES = ['--batch-size', '6', '--parallel-batches', '2'];

/** Runs a promotion of IMAGES images to three destinations, applies `outage` mid-Promote, and checks the outcome. */
async function promotionThrough(name: string, outage: () => Promise<{ downAt: number; upAt: number }>): Promise<void> {
  const s = stack();
  const prefix = uniqueName(name);
  const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  const images = await mapPool(
    Array.from({ length: IMAGES }, (_, i) => i),
    6,
    async (i) => {
      const image = `img-${String(i).padStart(2, '0')}`;
      const pushed = await pushRandomImage(oci, s.registries.staging, `${prefix}/${image}`, { seed: `${prefix}/${image}`, layers: 2, layerSize: 4096 });
      return { name: image, digest: pushed.digest, tags: [`v${i}`] };
    },
  );
  const proxy = await FaultProxy.start(s.registries.staging);
  try {
    proxy.addFault({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'delay', ms: 1_500 }, times: Infinity });
    const destinations = [s.registries.production, ...s.registries.mirrors];
    const manifest = await writePlainManifest(
      `${proxy.host}/${prefix}`,
      destinations.map((d) => `${d}/${prefix}`),
      images,
    );

    const taskQueue = clusterTaskQueue(name);
    const env = clusterClientEnv('mtls', { PROMOTER_TASK_QUEUE: taskQueue });
    cluster.workers.push(await startWorkerProcess(taskQueue, env));
    const started = parseJsonOutput<{ workflowId: string; runId: string }>(
      await runCli(['run', '--manifest', manifest, '--confirm', '--json', ...BATCHES], env),
    );
    const handle = cluster.client().workflow.getHandle(started.workflowId);

    let atOutage: RunProgress | undefined;
    for (const deadline = Date.now() + 180_000; Date.now() < deadline && !atOutage;) {
      const p = await handle.query(progressQuery);
      if (p.currentPhase === 'promote' && p.batchesDone >= 1 && p.batchesDone < p.batchesTotal) atOutage = p;
      else if (['sign', 'attest', 'done'].includes(p.currentPhase)) break;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(atOutage, 'the outage must land inside Promote').toBeDefined();
    const { downAt, upAt } = await outage();

    // The run that was under way finishes by itself (asking with `promoter run` again would start a
    // second run once this one is done, if the cluster came back after it had finished).
    const report = (await handle.result()) as RunReport;
    expect(report.workflowId).toBe(started.workflowId);
    expect(report.runId).toBe(started.runId); // the same run: no second promotion
    expect(report.status).toBe('succeeded');
    expect(report.edges).toMatchObject({ total: IMAGES * 3, promoted: IMAGES * 3, failed: 0 });
    expect(report.signatures.signed).toBe(IMAGES);
    expect(report.attestations.written).toBe(IMAGES);
    // The outage was real: the run has events from before and after it, and none from while the part was away.
    const events = (await handle.fetchHistory()).events!.map((e) => ({
      type: e.eventType,
      at: Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6),
    }));
    expect(events.some((e) => e.at < downAt)).toBe(true);
    expect(events.some((e) => e.at > upAt)).toBe(true);
    expect(events.filter((e) => e.at > downAt && e.at < upAt).map((e) => ({ ...e, afterDown: e.at - downAt }))).toEqual([]);

    for (const host of destinations) {
      await mapPool(images, 6, async (img) => {
        const tags = (await oci.listTags(host, `${prefix}/${img.name}`)).filter((t) => !t.startsWith('sha256-'));
        expect(tags, `${host}/${prefix}/${img.name}`).toEqual(img.tags);
        expect((await oci.headManifest({ host, repository: `${prefix}/${img.name}`, tag: img.tags[0]! }))!.digest).toBe(img.digest);
      });
    }
    for (const img of images.slice(0, 3)) expect(await skopeoDigest(`${s.registries.all.mirrorB}/${prefix}/${img.name}:${img.tags[0]}`)).toBe(img.digest);
  } finally {
    await proxy.close();
  }
}

/** The outage: `stop` the process, wait, bring the cluster back; the process must be a new one. */
async function outageOf(name: ClusterProcess, stop: () => Promise<unknown>): Promise<{ downAt: number; upAt: number }> {
  const before = clusterPid(name);
  await stop();
  await expect.poll(() => clusterPid(name), { timeout: 5_000 }).toBeUndefined();
  const downAt = Date.now();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  const upAt = Date.now(); // from here on the part is being started again
  const restarted = await restoreCluster();
  expect(restarted).toContain(name);
  expect(clusterPid(name)).not.toBe(before);
  return { downAt, upAt };
}

describe.skipIf(skip)(`the cluster loses a part mid-Promote${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('SIGKILL of the history service: the run completes once it is back, every edge exact', async () => {
    await promotionThrough('cluster-history-kill', () => outageOf('temporal-history', async () => killClusterProcess('temporal-history')));
  }, 600_000);

  it('a PostgreSQL restart: the run completes once it is back, every edge exact', async () => {
    await promotionThrough('cluster-pg-restart', () => outageOf('temporal-postgres', () => stopClusterProcess('temporal-postgres')));
  }, 600_000);
});
