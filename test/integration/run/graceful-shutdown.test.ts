// Graceful shutdown: SIGTERM to a worker in the middle of a Promote batch. The worker stops
// polling, gives the batch PROMOTER_SHUTDOWN_GRACE_TIME, then hands it over: its checkpoint goes
// out as a last heartbeat and the attempt fails at once. So the batch is ready for its next attempt
// within seconds, not after the 20 s heartbeat timeout, and the next worker resumes it from that
// checkpoint: nothing the first worker finished is done again, the run completes exactly.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import proto from '@temporalio/proto';
import type { RunProgress, RunReport } from '../../../lib/run/report';
import { mapPool } from '../../../lib/util/pool';
import { WORKER_HEAP_FLAGS } from '../../../worker/heap-flags';
import { progressQuery } from '../../../workflows/promotion';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { seedImageSet } from '../../support/image-set';
import { stack, uniqueName } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess } from '../../support/worker-process';

const { temporal } = proto;
const IMAGES = 40;
const GRACE_MS = 2_000;
const runs = useTemporal();
const taskQueue = uniqueName('shutdown').replace(/\//g, '-');

interface PendingBatch {
  attempt: number;
  state: string;
  records: number;
  lastFailureType?: string;
}

async function pendingBatch(workflowId: string): Promise<PendingBatch | undefined> {
  const desc = await runs.client.workflow.getHandle(workflowId).describe();
  const p = desc.raw.pendingActivities?.find((a) => a.activityType?.name === 'promoteBatch');
  if (!p) return undefined;
  const payload = p.heartbeatDetails?.payloads?.[0]?.data;
  const details = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { records?: unknown[] }) : undefined;
  const states = temporal.api.enums.v1.PendingActivityState as unknown as Record<string, unknown>;
  return {
    attempt: p.attempt ?? 1,
    state: Object.keys(states).find((k) => states[k] === p.state) ?? 'unknown',
    records: details?.records?.length ?? 0,
    ...(p.lastFailure?.applicationFailureInfo?.type ? { lastFailureType: p.lastFailure.applicationFailureInfo.type } : {}),
  };
}

describe('graceful shutdown', () => {
  it('SIGTERM mid-Promote hands the batch over from its checkpoint at once; nothing is lost or done twice', async () => {
    // Slow source blob reads, so one batch of all 120 copy tasks runs for a while.
    const proxy = await FaultProxy.start(stack().registries.staging);
    proxy.addFault({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'delay', ms: 400 }, times: Infinity });
    try {
      const set = await seedImageSet('shutdown', IMAGES, { source: proxy.host });
      const env = { PROMOTER_TASK_QUEUE: taskQueue, PROMOTER_SHUTDOWN_GRACE_TIME: `${GRACE_MS}ms` };
      const first = await startWorkerProcess(taskQueue, env, { compiled: true });
      runs.workers.push(first);
      const args = ['run', '--manifest', set.manifest, '--confirm', '--json', '--batch-size', '200', '--parallel-batches', '1'];
      const { workflowId } = parseJsonOutput<{ workflowId: string }>(await runCli(args, env));
      const handle = runs.client.workflow.getHandle(workflowId);

      // In Promote, with copies under way (source blobs being read).
      let inPromote: RunProgress | undefined;
      for (const deadline = Date.now() + 120_000; Date.now() < deadline && !inPromote;) {
        const p = await handle.query(progressQuery).catch((err: Error) => {
          throw new Error(`${err.message}; worker output:\n${first.output().slice(-3000)}`);
        });
        if (p.currentPhase === 'promote' && proxy.requests.filter((r) => r.path.includes('/blobs/')).length >= 30) inPromote = p;
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(inPromote, 'SIGTERM must land inside Promote').toBeDefined();

      // The built worker re-executed itself with its heap flags in place: the same pid, the one
      // this SIGTERM goes to.
      const cmdline = readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline).toEqual(expect.arrayContaining([...WORKER_HEAP_FLAGS]));

      const sigterm = Date.now();
      await first.stop();
      const exitedMs = Date.now() - sigterm;
      expect(first.output()).toContain('worker stopped');
      // The grace time, then the hand-over: the process is gone well before any heartbeat timeout.
      expect(exitedMs).toBeGreaterThanOrEqual(GRACE_MS - 200);
      expect(exitedMs).toBeLessThan(GRACE_MS + 8_000);

      // The batch is back on the queue for its next attempt within seconds (not after 20 s),
      // with the first worker's checkpoint as its heartbeat details.
      let ready: PendingBatch | undefined;
      for (const deadline = sigterm + 20_000; Date.now() < deadline && !ready;) {
        const b = await pendingBatch(workflowId);
        if (b && b.attempt >= 2) ready = b;
        else await new Promise((r) => setTimeout(r, 100));
      }
      const readyMs = Date.now() - sigterm;
      expect(ready, 'the batch must be retried').toBeDefined();
      expect(ready!.lastFailureType).toBe('WorkerShutdown');
      expect(readyMs).toBeLessThan(GRACE_MS + 6_000);

      // What the first worker finished: copy tasks whose tag is in place (tags go last). The
      // checkpoint holds them all but those still in flight at the hand-over (16 at most).
      let tagged = 0;
      await mapPool(set.destinations, 3, async (host) => {
        await mapPool(set.images, 8, async (img) => {
          if ((await set.oci.listTags(host, `${set.prefix}/${img.name}`).catch((): string[] => [])).includes(img.tag)) tagged++;
        });
      });
      expect(ready!.records).toBeGreaterThan(0);
      expect(ready!.records).toBeLessThanOrEqual(tagged);
      expect(ready!.records).toBeGreaterThanOrEqual(tagged - 16);

      // The next worker resumes from exactly that checkpoint, at once.
      const second = await startWorkerProcess(taskQueue, env, { compiled: true });
      runs.workers.push(second);
      const startedAt = Date.now();
      let resumed: { settled: number; of: number; time: number } | undefined;
      for (const deadline = startedAt + 30_000; Date.now() < deadline && !resumed;) {
        const line = second
          .output()
          .split('\n')
          .find((l) => l.includes('resuming batch from heartbeat'));
        if (line) resumed = JSON.parse(line) as { settled: number; of: number; time: number };
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(resumed, 'the second worker resumes the batch').toBeDefined();
      expect(resumed!.settled).toBe(ready!.records);
      expect(resumed!.of).toBe(IMAGES * 3);
      expect(resumed!.time - startedAt).toBeLessThan(5_000);

      const report = (await handle.result()) as RunReport;
      expect(report.status).toBe('succeeded');
      expect(report.edges).toMatchObject({ total: IMAGES * 3, promoted: IMAGES * 3, failed: 0 });
      for (const host of set.destinations) {
        await mapPool(set.images, 8, async (img) => {
          expect((await set.oci.listTags(host, `${set.prefix}/${img.name}`)).filter((t) => !t.startsWith('sha256-'))).toEqual([img.tag]);
          expect((await set.oci.headManifest({ host, repository: `${set.prefix}/${img.name}`, tag: img.tag }))!.digest).toBe(img.digest);
        });
      }
      console.log(
        `graceful shutdown: exited ${exitedMs} ms after SIGTERM, batch ready for attempt 2 after ${readyMs} ms, checkpoint ${ready!.records}/${IMAGES * 3} tasks (${tagged} tagged), resumed ${resumed!.time - startedAt} ms after the second worker started`,
      );
    } finally {
      await proxy.close();
    }
  }, 300_000);
});
