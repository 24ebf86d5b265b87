// Large plans fan Promote out to child workflows, so no single history grows without bound.
// Forced here with tiny batches: 12 copy tasks, 2 per batch, 2 batches per workflow -> 3 children.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import type { RunReport } from '../../../lib/run/report';
import { mapPool } from '../../../lib/util/pool';
import { parseJsonOutput, runCli } from '../../support/cli';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack, uniqueName } from '../../support/stack-env';
import { startTestWorker, type TestWorker } from '../../support/worker';

let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker('fanout');
});
afterAll(async () => worker?.stop());

describe('promote fan-out', () => {
  it('runs batches in child workflows and adds up their results', async () => {
    const s = stack();
    const prefix = uniqueName('fanout');
    const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
    const images = await mapPool([0, 1, 2, 3, 4, 5], 3, async (i) => ({
      name: `img${i}`,
      ...(await pushRandomImage(oci, s.registries.staging, `${prefix}/img${i}`, { seed: `${prefix}/${i}`, layers: 1, layerSize: 512 })),
    }));
    const manifest = await writePlainManifest(
      `${s.registries.staging}/${prefix}`,
      [`${s.registries.all.mirrorA}/${prefix}`, `${s.registries.production}/${prefix}`],
      images,
    );
    const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json', '--batch-size', '2', '--batches-per-workflow', '2'], {
      PROMOTER_TASK_QUEUE: worker.taskQueue,
    });
    const report = parseJsonOutput<RunReport>(r);
    expect(report.status).toBe('succeeded');
    expect(report.edges).toMatchObject({ total: 12, promoted: 12, failed: 0 });
    expect(report.audit.resultKeys.filter((k) => k.includes('/promote/batch-'))).toHaveLength(6);

    const connection = await Connection.connect({ address: s.temporal.address });
    const history = await new Client({ connection }).workflow.getHandle(report.workflowId).fetchHistory();
    await connection.close();
    const children = history.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
    expect(children).toHaveLength(3);
    for (const i of images) {
      expect((await oci.headManifest({ host: s.registries.production, repository: `${prefix}/${i.name}`, tag: 'v1' }))?.digest).toBe(i.digest);
    }
  }, 180_000);
});
