// A worker killed with SIGKILL in the middle of Sign: the activity is retried on a new worker
// process after the heartbeat timeout, resumes from its checkpoint, and every digest ends with
// exactly one signature by our key, in each format, at production and both mirrors.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunProgress, RunReport } from '../../../lib/run/report';
import { LONG } from '../../../workflows/activity-options';
import { parseJsonOutput, runCli } from '../../support/cli';
import { findCosign } from '../../support/cosign';
import { stack, uniqueName } from '../../support/stack-env';
import { startWorkerProcess, type WorkerProcess } from '../../support/worker-process';
import { countSignatures, cosignVerify, registryClient, seedImages, writeManifest, type StagedImage } from '../../support/supply-chain';

const IMAGES = 30;

const s = stack();
const { production, mirrorA, mirrorB } = s.registries.all;
const destinations = [production, mirrorA, mirrorB];
const client = registryClient();
const prefix = uniqueName('sc-crash');
const taskQueue = uniqueName('sc-crash-q');
const ours = readFileSync(s.publicKeyPath, 'utf8');
const heartbeatTimeoutMs = msToNumber(LONG.heartbeatTimeout);

const ONE_PART = ['--parallel-batches', '1'];

let first: WorkerProcess | undefined;
let second: WorkerProcess | undefined;
let imgs: StagedImage[];
let manifest: string;
let workflowId: string;
let report: RunReport;
let code: number;
let phaseAtKill: string | undefined;

describe('SIGKILL of the worker during Sign', () => {
  beforeAll(async () => {
    const names = Array.from({ length: IMAGES }, (_, i) => `img${String(i).padStart(2, '0')}`);
    let staged: Record<string, StagedImage>;
    [first, staged] = await Promise.all([startWorkerProcess(taskQueue), seedImages(client, prefix, names, { layerSize: 512, concurrency: 6 })]);
    imgs = names.map((n) => staged[n]!);
    manifest = await writeManifest({
      prefix,
      destinations,
      policy: 'signatures:\n  mode: off\nprovenance:\n  mode: off',
      images: imgs.map((i) => ({ name: i.name, digest: i.digest })),
    });
  }, 180_000);
  afterAll(async () => {
    for (const w of [first, second]) if (w) await w.stop().catch(() => undefined);
  }, 30_000);

  it(
    'the run survives the kill and signs every digest exactly once',
    async () => {
      const env = { PROMOTER_TASK_QUEUE: taskQueue };
      // One batch at a time, so Sign runs as one activity (not in parts) and is still under way
      // when the polling below sees it.
      const started = await runCli(['run', '--manifest', manifest, '--confirm', '--json', ...ONE_PART], env);
      expect(started.code, started.stderr).toBe(0);
      workflowId = parseJsonOutput<{ workflowId: string }>(started).workflowId;

      // Poll the way a user would until Sign is under way, then pull the plug.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const st = await runCli(['status', workflowId, '--json'], env, 30_000);
        const progress = parseJsonOutput<RunProgress>(st);
        if (progress.currentPhase === 'sign' || progress.currentPhase === 'attest' || progress.currentPhase === 'done' || Date.now() > deadline) {
          phaseAtKill = progress.currentPhase;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await first!.kill();
      expect(phaseAtKill, `worker output:\n${first!.output()}`).toBe('sign');
      const signedAtKill = (await Promise.all(imgs.map((i) => countSignatures(client, production, i.repository, i.digest, ours)))).filter(
        (c) => c.sigLayersByKey > 0,
      ).length;

      second = await startWorkerProcess(taskQueue);
      // `run` with the same manifests attaches to the running workflow and waits for its report.
      const waited = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json', ...ONE_PART], env, heartbeatTimeoutMs + 180_000);
      if (waited.code !== 0 && !waited.stdout.trim().startsWith('{')) {
        throw new Error(`run --wait exited ${waited.code}: ${waited.stderr.slice(-2000)}\nsecond worker:\n${second.output().slice(-6000)}`);
      }
      report = parseJsonOutput<RunReport>(waited);
      code = waited.code;
      expect(report.workflowId).toBe(workflowId);
      expect(report.failures, second.output().slice(-4000)).toEqual([]);
      expect(report.status).toBe('succeeded');
      expect(code).toBe(0);
      expect(report.edges).toMatchObject({ total: IMAGES * 3, promoted: IMAGES * 3, failed: 0 });
      // Each image signed once at production; whatever the killed attempt finished counts as already signed.
      expect(report.signatures.signed + report.signatures.alreadySigned).toBe(IMAGES);
      expect(report.attestations.written).toBe(IMAGES);
      console.info(
        `sign-crash: ${signedAtKill}/${IMAGES} digests signed at the kill; sign phase ${report.phases.sign.durationMs} ms; report.signatures ${JSON.stringify(report.signatures)}`,
      );

      // The history shows the kill: the Sign activity completed on a later attempt.
      const connection = await Connection.connect({ address: s.temporal.address });
      try {
        const history = await new Client({ connection, namespace: s.temporal.namespace }).workflow.getHandle(workflowId).fetchHistory();
        const events = history.events ?? [];
        const signScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sign');
        expect(signScheduled).toBeDefined();
        const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(signScheduled!.eventId));
        expect(started?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThanOrEqual(2);
      } finally {
        await connection.close();
      }
    },
    heartbeatTimeoutMs + 300_000,
  );

  it('every digest carries exactly one signature by our key, in each format, at production and both mirrors', async () => {
    expect(report, 'the run finished').toBeDefined();
    const wrong: string[] = [];
    for (const host of destinations) {
      const counts = await Promise.all(imgs.map(async (i) => ({ i, c: await countSignatures(client, host, i.repository, i.digest, ours) })));
      for (const { i, c } of counts) {
        if (c.sigLayers !== 1 || c.sigLayersByKey !== 1 || c.signBundles !== 1 || c.signBundlesByKey !== 1)
          wrong.push(`${host}/${i.repository}: ${JSON.stringify(c)}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it.skipIf(!findCosign())(
    'cosign verifies every digest at production (both formats) and at mirror-b',
    async () => {
      const checks = [
        ...imgs.flatMap((i) => [false, true].map((legacy) => ({ ref: `${production}/${i.repository}@${i.digest}`, legacy }))),
        ...imgs.map((i) => ({ ref: `${mirrorB}/${i.repository}@${i.digest}`, legacy: true })),
      ];
      const failed: string[] = [];
      for (let k = 0; k < checks.length; k += 2) {
        await Promise.all(
          checks.slice(k, k + 2).map(async (c) => {
            const r = await cosignVerify(s.publicKeyPath, c.ref, { legacy: c.legacy });
            if (r.code !== 0) failed.push(`${c.ref} legacy=${c.legacy}: ${r.stderr.trim().split('\n').pop()}`);
            else if (c.legacy && JSON.parse(r.stdout).length !== 1) failed.push(`${c.ref}: ${JSON.parse(r.stdout).length} verified .sig layers`);
          }),
        );
      }
      expect(failed).toEqual([]);
    },
    180_000,
  );
});
