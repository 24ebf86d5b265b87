// Durability: SIGKILL the worker in the middle of Promote, start a new one; the run completes and
// the registries hold exactly the expected manifests and tags, nothing missing, nothing twice.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { pushRandomImage, makeLayer } from '../../../scripts/dev/seed-images';
import type { RunProgress, RunReport } from '../../../lib/run/report';
import { mapPool } from '../../../lib/util/pool';
import { progressQuery, type promotionWorkflow } from '../../../workflows/promotion';
import { parseJsonOutput, runCli } from '../../support/cli';
import { writePlainManifest } from '../../support/plain-manifest';
import { skopeoDigest } from '../../support/skopeo';
import { stack, uniqueName } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess } from '../../support/worker-process';

const IMAGES = 40;
const taskQueue = `crash-${randomBytes(4).toString('hex')}`;
const runs = useTemporal();
const workers = runs.workers;

describe('worker crash during Promote', () => {
  it('a new worker finishes the run; every edge lands exactly once', async () => {
    const s = stack();
    const prefix = uniqueName('crash');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const base = [makeLayer(`${prefix}/base`, 32 * 1024)];
    const images = await mapPool(
      Array.from({ length: IMAGES }, (_, i) => i),
      8,
      async (i) => {
        const name = `img-${String(i).padStart(2, '0')}`;
        const pushed = await pushRandomImage(oci, s.registries.staging, `${prefix}/${name}`, {
          seed: `${prefix}/${name}`,
          layers: 2,
          layerSize: 16 * 1024,
          sharedLayers: base,
        });
        return { name, digest: pushed.digest, tag: `v${i}.0.0` };
      },
    );
    const destinations = [s.registries.production, ...s.registries.mirrors];
    const manifest = await writePlainManifest(
      `${s.registries.staging}/${prefix}`,
      destinations.map((d) => `${d}/${prefix}`),
      images.map((img) => ({ name: img.name, digest: img.digest, tags: [img.tag] })),
    );

    workers.push(await startWorkerProcess(taskQueue));
    const env = { PROMOTER_TASK_QUEUE: taskQueue };
    const started = parseJsonOutput<{ workflowId: string }>(
      await runCli(['run', '--manifest', manifest, '--confirm', '--json', '--batch-size', '8', '--parallel-batches', '2'], env),
    );
    const handle = runs.client.workflow.getHandle<typeof promotionWorkflow>(started.workflowId);

    // Wait until Promote has settled some batches but not all, then pull the plug.
    let atKill: RunProgress | undefined;
    for (const deadline = Date.now() + 180_000; Date.now() < deadline && !atKill;) {
      const p = await handle.query(progressQuery);
      if (p.currentPhase === 'promote' && p.batchesDone >= 1 && p.batchesDone < p.batchesTotal) atKill = p;
      else if (
        p.currentPhase !== 'setup' &&
        p.currentPhase !== 'plan' &&
        p.currentPhase !== 'provenance' &&
        p.currentPhase !== 'validate' &&
        p.currentPhase !== 'promote'
      )
        break;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(atKill, 'the kill must land inside Promote').toBeDefined();
    await workers[0]!.kill();

    workers.push(await startWorkerProcess(taskQueue));
    const report = parseJsonOutput<RunReport>(
      await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json', '--batch-size', '8', '--parallel-batches', '2'], env, 240_000),
    );
    expect(report.workflowId).toBe(started.workflowId); // attached to the same run, no second promotion
    expect(report.status).toBe('succeeded');
    expect(report.edges).toMatchObject({ total: IMAGES * 3, promoted: IMAGES * 3, failed: 0 });
    expect(report.signatures.signed).toBe(IMAGES);

    // The history shows the crash: an activity timed out and was retried.
    const history = await handle.fetchHistory();
    const timedOut = history.events!.filter((e) => e.activityTaskTimedOutEventAttributes).length;
    const retried = history.events!.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(timedOut + (retried ? 1 : 0)).toBeGreaterThan(0);

    // Every destination repository holds exactly its one tag (plus signature/referrer tags), at the right digest.
    for (const host of destinations) {
      await mapPool(images, 8, async (img) => {
        const tags = (await oci.listTags(host, `${prefix}/${img.name}`)).filter((t) => !t.startsWith('sha256-'));
        expect(tags).toEqual([img.tag]);
        expect((await oci.headManifest({ host, repository: `${prefix}/${img.name}`, tag: img.tag }))!.digest).toBe(img.digest);
      });
    }
    // and an independent client agrees on a sample
    for (const img of images.slice(0, 5)) expect(await skopeoDigest(`${s.registries.all.mirrorB}/${prefix}/${img.name}:${img.tag}`)).toBe(img.digest);
  }, 300_000);
});
