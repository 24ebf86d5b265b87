// A real dry run: CLI -> Temporal -> worker -> registries and S3, and back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStore } from '../../../lib/storage/audit-store';
import { planEdges } from '../../../lib/run/plan';
import type { Plan } from '../../../lib/run/plan-format';
import type { RunReport } from '../../../lib/run/report';
import { parseJsonOutput, runCli } from '../../support/cli';
import { buildScenario, LOST_DIGEST, type Scenario } from '../../support/scenario';
import { startTestWorker, type TestWorker } from '../../support/worker';

let worker: TestWorker;
let scenario: Scenario;

beforeAll(async () => {
  [worker, scenario] = await Promise.all([startTestWorker('dry'), buildScenario()]);
});
afterAll(async () => worker?.stop());

describe('dry run', () => {
  it('plans what the registries hold: present, tag move, LOST, to promote; writes nothing', async () => {
    const env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
    const r = await runCli(['run', '--manifest', scenario.manifestFile, '--wait', '--json'], env);
    const report = parseJsonOutput<RunReport>(r);
    expect(report.status).toBe('dry-run');
    // predicted failures (LOST, tag move) make a dry run exit 1, like a presubmit check
    expect(r.code).toBe(1);
    expect(report.edges).toMatchObject({ total: 12, toPromote: 7, alreadyPresent: 1, tagMoves: 1, lost: 3, failed: 4, promoted: 0 });
    expect(report.phases.setup.status).toBe('succeeded');
    expect(report.phases.plan.status).toBe('succeeded');
    for (const p of ['promote', 'sign', 'attest'] as const) expect(report.phases[p].status).toBe('skipped');
    const codes = report.failures.map((f) => `${f.code} ${f.edge}`).sort();
    expect(codes).toEqual(
      [
        `LOST ${scenario.mirror}/${scenario.prefix}/gone:v9@${LOST_DIGEST}`,
        `LOST ${scenario.mirrorA}/${scenario.prefix}/gone:v9@${LOST_DIGEST}`,
        `LOST ${scenario.production}/${scenario.prefix}/gone:v9@${LOST_DIGEST}`,
        `TAG_MOVE ${scenario.production}/${scenario.prefix}/c:v3@${scenario.digests.c}`,
      ].sort(),
    );

    // The plan in S3 carries every edge with its verdict.
    const store = new AuditStore(worker.config.store);
    const plan = await store.getJson<Plan>(report.audit.planKey!);
    const verdict = (image: string, host: string) => [...planEdges(plan)].find((e) => e.image === image && e.destination.host === host)!.verdict;
    expect(verdict('a', scenario.production)).toBe('present');
    expect(verdict('a', scenario.mirror)).toBe('promote');
    expect(verdict('b', scenario.mirror)).toBe('promote');
    expect(verdict('c', scenario.production)).toBe('tag-move');
    expect([...planEdges(plan)].find((e) => e.image === 'c' && e.destination.host === scenario.production)!.currentDigest).toBe(scenario.digests.other);

    // A dry run writes nothing to the registries.
    expect(await scenario.client.headManifest({ host: scenario.mirror, repository: `${scenario.prefix}/b`, digest: scenario.digests.b })).toBeUndefined();
    expect((await scenario.client.headManifest({ host: scenario.production, repository: `${scenario.prefix}/c`, tag: 'v3' }))!.digest).toBe(
      scenario.digests.other,
    );

    // status and report read the same run back.
    const status = await runCli(['status', report.workflowId, '--json'], env);
    expect(parseJsonOutput<{ status: string }>(status).status).toBe('dry-run');
    const again = parseJsonOutput<RunReport>(await runCli(['report', report.workflowId, '--json'], env));
    expect(again.edges).toEqual(report.edges);

    // The audit path: the run's history replays against this checkout's workflow code.
    const replay = await runCli(['replay', report.workflowId], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/deterministic \(\d+ events\)/);
  });

  it('refuses invalid manifests with exit 2 and starts nothing', async () => {
    const r = await runCli(['run', '--manifest', '/nonexistent/promoter-manifest.yaml', '--wait'], { PROMOTER_TASK_QUEUE: worker.taskQueue });
    expect(r.code).toBe(2);
  });
});
