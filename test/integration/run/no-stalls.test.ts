// No stalls: a worker SIGKILLed in the middle of a quick step (Setup, the report) is noticed within
// the heartbeat timeout and the step runs again on another worker; nothing waits out a 10-minute
// start-to-close. A proxy holds one request of the dying worker open, so it is killed mid-step.
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess } from '../../support/worker-process';
import type { promotionWorkflow } from '../../../workflows/promotion';

const runs = useTemporal();
const workers = runs.workers;
const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
});

/** A one-image manifest from staging to `destination` (a registry name). */
async function manifestTo(destination: string): Promise<string> {
  const s = stack();
  const prefix = uniqueName('stall');
  const oci = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  const img = await pushRandomImage(oci, s.registries.staging, `${prefix}/app`, { seed: prefix, layers: 1, layerSize: 512 });
  const dir = await mkdtemp(join(tmpdir(), 'promoter-stall-'));
  const file = join(dir, 'promoter-manifest.yaml');
  await writeFile(
    file,
    `registries:\n  - name: ${s.registries.staging}/${prefix}\n    src: true\n  - name: ${destination}/${prefix}\nimages:\n  - name: app\n    dmap:\n      "${img.digest}": ["v1"]\n`,
  );
  return file;
}

/** Waits until the run's pending activity `type` is running its first attempt and `held` says the proxy holds its request. */
async function waitForStep(workflowId: string, type: string, held: () => boolean): Promise<void> {
  await expect
    .poll(
      async () => {
        const d = await runs.client.workflow.getHandle(workflowId).describe();
        const pending = d.raw.pendingActivities?.find((a) => a.activityType?.name === type);
        return pending?.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED && pending.attempt === 1 && held();
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(true);
}

/** The attempt that finally ran `type`, and why the one before it ended. */
async function lastAttemptOf(workflowId: string, type: string): Promise<{ attempt: number; lastFailure?: temporal.api.failure.v1.IFailure | null }> {
  const history = await runs.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)!;
  const started = events.find(
    (e) => e.activityTaskStartedEventAttributes && Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(scheduled.eventId),
  );
  return { attempt: started!.activityTaskStartedEventAttributes!.attempt ?? 0, lastFailure: started!.activityTaskStartedEventAttributes!.lastFailure };
}

async function killedMidStep(
  step: 'setup' | 'writeReport',
  proxyEnvFor: (proxy: FaultProxy) => { destination?: string; workerEnv?: Record<string, string> },
  target: string,
  hold: { method: string; path: RegExp },
) {
  const taskQueue = `stall-${randomBytes(4).toString('hex')}`;
  const proxy = await FaultProxy.start(target);
  proxies.push(proxy);
  // The dying worker's request is held for a minute; the next worker's goes straight through.
  proxy.addFault({ method: hold.method, path: hold.path, fault: { kind: 'delay', ms: 60_000 } });
  const how = proxyEnvFor(proxy);
  const manifest = await manifestTo(how.destination ?? stack().registries.production);
  const first = await startWorkerProcess(taskQueue, how.workerEnv);
  workers.push(first);
  const started = parseJsonOutput<{ workflowId: string }>(await runCli(['run', '--manifest', manifest, '--json'], { PROMOTER_TASK_QUEUE: taskQueue }));
  await waitForStep(started.workflowId, step, () =>
    proxy.requests.some((r) => r.method === hold.method && hold.path.test(r.path) && r.respondedAt === undefined),
  );
  await first.kill();

  const second = await startWorkerProcess(taskQueue);
  workers.push(second);
  const report: RunReport = await runs.client.workflow.getHandle<typeof promotionWorkflow>(started.workflowId).result();
  return { report, last: await lastAttemptOf(started.workflowId, step) };
}

describe('a worker killed during a quick step', () => {
  it('during Setup: the step is retried after a heartbeat timeout and the run completes', async () => {
    const registry = stack().registries.all.mirrorA;
    const { report, last } = await killedMidStep('setup', (proxy) => ({ destination: proxy.host }), registry, { method: 'GET', path: /^\/v2\/$/ });
    expect(report.status).toBe('dry-run');
    expect(report.phases.setup.status).toBe('succeeded');
    expect(report.edges.toPromote).toBe(1);
    expect(last.attempt).toBe(2);
    expect(last.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
  }, 180_000);

  it('during the report: the report is written by the next worker after a heartbeat timeout', async () => {
    const s3 = new URL(stack().s3.endpoint).host;
    const { report, last } = await killedMidStep('writeReport', (proxy) => ({ workerEnv: { PROMOTER_S3_ENDPOINT: `http://${proxy.host}` } }), s3, {
      method: 'PUT',
      path: /\/report\.json/,
    });
    expect(report.status).toBe('dry-run');
    expect(last.attempt).toBe(2);
    expect(last.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
  }, 180_000);
});
