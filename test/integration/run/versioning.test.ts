// Worker Deployments: two builds of the worker (v1, v2) side by side on one task queue. A promotion
// started on v1 stays pinned to v1 when v2 is made current in the middle of its Promote; runs
// started afterwards go to v2. `promoter status`, the run's versioning info and the search attribute
// the Temporal UI shows (TemporalWorkerDeploymentVersion) all say which version ran each run.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { RunProgress, RunReport } from '../../../lib/run/report';
import { progressQuery } from '../../../workflows/promotion';
import { parseJsonOutput, runCli } from '../../support/cli';
import { seedImageSet } from '../../support/image-set';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process';

const runs = useTemporal();
const taskQueue = `versioning-${randomBytes(4).toString('hex')}`;
const deploymentName = `promoter-it-${randomBytes(4).toString('hex')}`;
const env = { PROMOTER_TASK_QUEUE: taskQueue, PROMOTER_DEPLOYMENT_NAME: deploymentName };

interface Deployment {
  current?: string;
  versions: { buildId: string; status: string }[];
}

async function deployment(): Promise<Deployment | undefined> {
  const r = await runCli(['deployment', 'describe', '--json'], env);
  return r.code === 0 ? parseJsonOutput<Deployment>(r) : undefined;
}

/** A version exists once one of its workers has polled; then it can be made current. */
async function makeCurrent(buildId: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if ((await deployment())?.versions.some((v) => v.buildId === buildId)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const r = await runCli(['deployment', 'set-current', '--build-id', buildId, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  expect(parseJsonOutput<Deployment>(r).current).toBe(buildId);
}

async function startVersion(buildId: string): Promise<WorkerProcess> {
  const w = await startWorkerProcess(taskQueue, { ...env, PROMOTER_WORKER_VERSIONING: 'on', PROMOTER_BUILD_ID: buildId }, { compiled: true });
  runs.workers.push(w);
  return w;
}

/** Which build completed each workflow task, and which worker identities ran the activities. */
async function whoRan(workflowId: string): Promise<{ workflowTaskBuilds: Set<string>; activityWorkers: Set<string> }> {
  const history = await runs.client.workflow.getHandle(workflowId).fetchHistory();
  const workflowTaskBuilds = new Set<string>();
  const activityWorkers = new Set<string>();
  for (const e of history.events ?? []) {
    const wft = e.workflowTaskCompletedEventAttributes;
    if (wft) workflowTaskBuilds.add(wft.deploymentVersion?.buildId ?? wft.workerVersion?.buildId ?? '(none)');
    const started = e.activityTaskStartedEventAttributes;
    if (started?.identity) activityWorkers.add(started.identity);
  }
  return { workflowTaskBuilds, activityWorkers };
}

function searchAttribute(desc: WorkflowExecutionDescription, name: string): unknown {
  return (desc.searchAttributes as Record<string, unknown[] | undefined>)[name]?.[0];
}

describe('worker versioning', () => {
  it('a run pinned to v1 finishes on v1 after v2 becomes current; new runs go to v2', async () => {
    const first = await seedImageSet('ver-a', 40);
    const second = await seedImageSet('ver-b', 3);
    const v1 = await startVersion('v1');
    await makeCurrent('v1');

    const opts = ['--confirm', '--json', '--batch-size', '4', '--parallel-batches', '1'];
    const a = parseJsonOutput<{ workflowId: string }>(await runCli(['run', '--manifest', first.manifest, ...opts], env));
    const handleA = runs.client.workflow.getHandle(a.workflowId);
    // v2 is deployed beside v1 (not current: it takes nothing yet) while the run gets going.
    const v2 = await startVersion('v2');

    let atSwitch: RunProgress | undefined;
    for (const deadline = Date.now() + 180_000; Date.now() < deadline && !atSwitch;) {
      const p = await handleA.query(progressQuery);
      if (p.currentPhase === 'promote' && p.batchesDone < p.batchesTotal) atSwitch = p;
      else if (p.currentPhase === 'sign' || p.currentPhase === 'attest' || p.currentPhase === 'done') break;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(atSwitch, 'v2 must become current while the v1 run is in Promote').toBeDefined();
    await makeCurrent('v2');
    const afterSwitch = await handleA.query(progressQuery);
    expect(afterSwitch.currentPhase, 'the switch came before Promote ended').toBe('promote');

    // v1 keeps a pinned run open: draining, not gone.
    const during = await deployment();
    expect(during?.current).toBe('v2');
    expect(during?.versions.find((v) => v.buildId === 'v1')?.status).toBe('draining');

    // A run started now goes to v2.
    const b = parseJsonOutput<RunReport>(await runCli(['run', '--manifest', second.manifest, '--confirm', '--wait', '--json'], env, 240_000));
    expect(b.status).toBe('succeeded');
    expect(b.edges).toMatchObject({ total: 9, promoted: 9, failed: 0 });

    const reportA = (await handleA.result()) as RunReport;
    expect(reportA.status).toBe('succeeded');
    expect(reportA.edges).toMatchObject({ total: 120, promoted: 120, failed: 0 });

    // Who ran what: every workflow task and activity of A on v1, of B on v2.
    const identity = (w: WorkerProcess): string => `${w.child.pid}@${hostname()}`;
    const ranA = await whoRan(a.workflowId);
    expect([...ranA.workflowTaskBuilds]).toEqual(['v1']);
    expect([...ranA.activityWorkers]).toEqual([identity(v1)]);
    const ranB = await whoRan(b.workflowId);
    expect([...ranB.workflowTaskBuilds]).toEqual(['v2']);
    expect([...ranB.activityWorkers]).toEqual([identity(v2)]);

    // What a user sees: `promoter status` and the run's deployment version in the UI.
    for (const [id, buildId] of [
      [a.workflowId, 'v1'],
      [b.workflowId, 'v2'],
    ] as const) {
      const status = parseJsonOutput<{ status: string; version?: { deploymentName: string; buildId: string; behavior: string } }>(
        await runCli(['status', id, '--json'], env),
      );
      expect(status.status).toBe('succeeded');
      expect(status.version).toEqual({ deploymentName, buildId, behavior: 'pinned' });
      const human = await runCli(['status', id], env);
      expect(human.stdout).toContain(`worker version: ${deploymentName} ${buildId} (pinned)`);
      const desc = await runs.client.workflow.getHandle(id).describe();
      expect(searchAttribute(desc, 'TemporalWorkerDeploymentVersion')).toBe(`${deploymentName}:${buildId}`);
    }
    const onV1: string[] = [];
    for await (const w of runs.client.workflow.list({ query: `TemporalWorkerDeploymentVersion = "${deploymentName}:v1"` })) onV1.push(w.workflowId);
    expect(onV1).toContain(a.workflowId);
    expect(onV1).not.toContain(b.workflowId);

    // Upgrade done: stop v1; v2 serves on (the nightly mirroring would auto-upgrade to it too).
    await v1.stop();
    expect((await deployment())?.current).toBe('v2');
  }, 420_000);
});
