// A worker SIGKILLed in the middle of Plan: the next one resumes from the inventory the first had
// checkpointed (chunks in S3, counted in its heartbeat) instead of asking every registry again.
// A proxy slows each tags/list down so the kill lands mid-Plan; it also counts what was asked.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { planInventoryChunkKey } from '../../../lib/run/storage-keys';
import type { RunReport } from '../../../lib/run/report';
import { AuditStore, auditStoreConfigFromEnv } from '../../../lib/storage/audit-store';
import { parseJsonOutput, runCli } from '../../support/cli';
import { FaultProxy } from '../../support/fault-proxy';
import { writePlainManifest } from '../../support/plain-manifest';
import { stack, uniqueName } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startWorkerProcess } from '../../support/worker-process';
import type { promotionWorkflow } from '../../../workflows/promotion';

const REPOSITORIES = 150;
const runs = useTemporal();
let proxy: FaultProxy | undefined;
afterAll(async () => proxy?.close());

describe('a worker killed during Plan', () => {
  it('the next worker resumes from the checkpointed inventory and lists only the rest', async () => {
    const s = stack();
    proxy = await FaultProxy.start(s.registries.all.mirrorA);
    proxy.addFault({ method: 'GET', path: /\/tags\/list/, fault: { kind: 'delay', ms: 1_500 }, times: Infinity });
    const prefix = uniqueName('plan-resume');
    const images = Array.from({ length: REPOSITORIES }, (_, i) => ({ name: `img-${i}`, digest: `sha256:${randomBytes(32).toString('hex')}` }));
    const manifest = await writePlainManifest(`${s.registries.staging}/${prefix}`, [`${proxy.host}/${prefix}`], images);

    const taskQueue = `plan-resume-${randomBytes(4).toString('hex')}`;
    const first = await startWorkerProcess(taskQueue);
    runs.workers.push(first);
    const started = parseJsonOutput<{ workflowId: string; runId: string }>(
      await runCli(['run', '--manifest', manifest, '--json'], { PROMOTER_TASK_QUEUE: taskQueue }),
    );
    const store = new AuditStore(auditStoreConfigFromEnv());
    const chunk0 = planInventoryChunkKey(started.workflowId, started.runId, 0);
    await expect.poll(() => store.exists(chunk0), { timeout: 60_000, interval: 200 }).toBe(true);
    await first.kill();
    const checkpointed = (await store.getJson<{ destinations?: { key: string }[] }>(chunk0)).destinations!.map((d) => d.key);
    expect(checkpointed.length).toBeGreaterThan(0);
    expect(checkpointed.length).toBeLessThan(REPOSITORIES);

    const second = await startWorkerProcess(taskQueue);
    runs.workers.push(second);
    const report: RunReport = await runs.client.workflow.getHandle<typeof promotionWorkflow>(started.workflowId).result();
    expect(report.status).toBe('dry-run');
    expect(report.edges).toMatchObject({ total: REPOSITORIES, lost: REPOSITORIES });

    // Every repository the first worker checkpointed was listed once, by it; no one started over.
    const listings = (repo: string) => proxy!.requests.filter((r) => r.method === 'GET' && r.path.startsWith(`/v2/${repo}/tags/list`)).length;
    for (const key of checkpointed) expect(listings(key.slice(proxy.host.length + 1)), key).toBe(1);
    const all = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/tags/list')).length;
    expect(all).toBeLessThan(2 * REPOSITORIES - checkpointed.length + 1);
    expect(images.every((img) => listings(`${prefix}/${img.name}`) >= 1)).toBe(true);
  }, 240_000);
});
