// The audit: against a promoted set on the real stack, a rogue skopeo push to production is
// flagged by the webhook path (distribution's notifications -> promoter audit-receiver ->
// AuditEventsWorkflow) within 10 s and by the scheduled path; a tag moved by hand is flagged; the
// promotion itself raises no alarm; a clean audit costs at most 1.5 registry requests per repository.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import type { AuditEventsState, AuditFinding, AuditReport } from '../../../lib/run/audit';
import type { RunReport } from '../../../lib/run/report';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { skopeoTlsFlags } from '../../../scripts/dev/stack';
import { freePort } from '../../../scripts/dev/stack/probes';
import { AUDIT_RECEIVER_PORT } from '../../../scripts/dev/stack/topology';
import { auditStateQuery } from '../../../workflows/audit';
import { stopProcess, waitServing } from '../../support/child-process';
import { parseJsonOutput, PROMOTER_BIN, runCli } from '../../support/cli';
import { stack, uniqueName } from '../../support/stack-env';
import { useTemporal } from '../../support/temporal';
import { startTestWorker, type TestWorker } from '../../support/worker';

const run = promisify(execFile);
const temporal = useTemporal();
let worker: TestWorker;
let receiver: ChildProcess | undefined;
let env: Record<string, string>;
let manifest: string;
let prefix: string;
let digests: { x: string; y: string };
let promotedAt: number;
let metricsAddress: string;
const s = stack();
const production = s.registries.production;

const requestsSent = () => Object.values(worker.telemetry.stats()).reduce((n, h) => n + h.total, 0);
const eventsState = () => temporal.client.workflow.getHandle(`audit-events-${worker.taskQueue}`).query(auditStateQuery);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the events workflow until a finding matches; returns it with the seconds it took since `from`. */
async function flaggedByEvents(match: (f: AuditFinding) => boolean, from: number, timeoutMs = 20_000): Promise<{ finding: AuditFinding; seconds: number }> {
  for (;;) {
    const state = await eventsState().catch(() => undefined);
    const finding = state?.recent.find(match);
    if (finding) return { finding, seconds: (Date.now() - from) / 1000 };
    if (Date.now() - from > timeoutMs) throw new Error(`not flagged within ${timeoutMs} ms; state: ${JSON.stringify(state)}`);
    await sleep(200);
  }
}

/** A Prometheus counter's value, summed over the series matching `labels`. */
async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ([-+\d.eE]+)$/.exec(line.trim());
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

async function skopeoCopy(from: string, to: string): Promise<void> {
  const host = to.split('/')[0]!;
  await run('skopeo', [
    'copy',
    '--all',
    '--quiet',
    '--preserve-digests',
    '--authfile',
    s.dockerConfigFile,
    ...skopeoTlsFlags(from.split('/')[0]!, 'src'),
    ...skopeoTlsFlags(host, 'dest'),
    `docker://${from}`,
    `docker://${to}`,
  ]);
}

async function audit(args: string[] = []): Promise<{ code: number; report: AuditReport }> {
  const r = await runCli(['audit', '--manifest', manifest, '--wait', '--json', ...args], env);
  return { code: r.code, report: parseJsonOutput<AuditReport>(r) };
}

beforeAll(async () => {
  metricsAddress = `127.0.0.1:${await freePort()}`;
  worker = await startTestWorker('audit', { PROMOTER_METRICS_ADDRESS: metricsAddress });
  env = { PROMOTER_TASK_QUEUE: worker.taskQueue };
  prefix = uniqueName('audit');
  const client = RegistryClient.fromDockerConfig({ configPath: s.dockerConfigFile });
  const staging = s.registries.staging;
  const x = await pushRandomImage(client, staging, `${prefix}/x`, { seed: `${prefix}/x`, layers: 1, layerSize: 1024 });
  const y = await pushRandomImage(client, staging, `${prefix}/y`, {
    seed: `${prefix}/y`,
    layers: 1,
    layerSize: 1024,
    platforms: ['linux/amd64', 'linux/arm64'],
  });
  digests = { x: x.digest, y: y.digest };
  const dir = await mkdtemp(join(tmpdir(), 'promoter-audit-'));
  manifest = join(dir, 'promoter-manifest.yaml');
  await writeFile(
    manifest,
    `registries:
  - name: ${staging}/${prefix}
    src: true
  - name: ${production}/${prefix}
  - name: ${s.registries.all.mirrorA}/${prefix}
  - name: ${s.registries.all.mirrorB}/${prefix}
images:
  - name: x
    dmap:
      "${x.digest}": ["v1"]
  - name: y
    dmap:
      "${y.digest}": ["v2", "latest"]
`,
  );
  // The receiver production's notifications go to, passing pushes to this file's worker.
  receiver = spawn(process.execPath, [PROMOTER_BIN, 'audit-receiver', '--listen', `127.0.0.1:${AUDIT_RECEIVER_PORT}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitServing(
    receiver,
    async () => (await fetch(`http://127.0.0.1:${AUDIT_RECEIVER_PORT}/healthz`).catch(() => undefined))?.ok === true,
    'audit-receiver',
  );

  promotedAt = Date.now();
  const r = await runCli(['run', '--manifest', manifest, '--confirm', '--wait', '--json'], env);
  const report = parseJsonOutput<RunReport>(r);
  expect(report.status, r.stderr).toBe('succeeded');
  expect(report.edges.promoted).toBe(9); // x:v1, y:v2, y:latest at three destinations
}, 300_000);

afterAll(async () => {
  await stopProcess(receiver);
  await worker?.stop();
});

describe('audit', () => {
  it('raises no alarm for its own promotion, at most 1.5 requests per repository', async () => {
    // The webhook path saw the promotion's pushes (tags, signatures) and flagged none of them.
    let state: AuditEventsState | undefined;
    for (let i = 0; i < 100 && !(state && state.events >= 3); i++) {
      await sleep(200);
      state = await eventsState().catch(() => undefined);
    }
    expect(state?.events, 'the receiver passed the promotion pushes on').toBeGreaterThanOrEqual(3);
    await sleep(Math.max(0, promotedAt + 1_000 - Date.now()) + 6_000); // every second look done
    // (Pushes other test files made while no receiver listened arrive too: the registry retried them.)
    expect((await eventsState()).recent.filter((f) => f.repository.includes(prefix))).toEqual([]);

    const before = requestsSent();
    const { code, report } = await audit();
    const requests = requestsSent() - before;
    expect(report).toMatchObject({ status: 'clean', repositories: 6, digests: 6, findings: [] });
    expect(code).toBe(0);
    console.log(`clean audit: ${requests} registry requests for ${report.repositories} repositories (report says ${report.requests})`);
    expect(requests).toBeLessThanOrEqual(1.5 * report.repositories);
    expect(report.requests).toBe(requests);
  }, 120_000);

  it('flags a skopeo push straight to production: by the webhook within 10 s, then by the scheduled audit', async () => {
    const rogue = `${production}/${prefix}/x:rogue`;
    const pushed = Date.now();
    await skopeoCopy(`${s.registries.staging}/${prefix}/y@${digests.y}`, rogue);
    const isRogue = (f: AuditFinding) => f.kind === 'rogue-tag' && f.repository === `${production}/${prefix}/x` && f.tag === 'rogue';
    const { finding, seconds } = await flaggedByEvents(isRogue, pushed);
    console.log(`webhook path flagged ${rogue} ${seconds.toFixed(1)} s after the push started`);
    expect(finding.digest).toBe(digests.y);
    expect(seconds).toBeLessThan(10);

    // The scheduled path: the audit schedule, triggered now, against the last confirmed promotion.
    await runCli(['schedule', 'delete', '--audit'], env); // leftover of an interrupted run
    expect((await runCli(['schedule', 'create', '--audit'], env)).code).toBe(0);
    try {
      expect((await runCli(['schedule', 'trigger', '--audit'], env)).code).toBe(0);
      let workflowId: string | undefined;
      for (let i = 0; i < 100 && !workflowId; i++) {
        await sleep(200);
        workflowId = parseJsonOutput<{ recentActions: { workflowId: string }[] }>(await runCli(['schedule', 'describe', '--audit', '--json'], env))
          .recentActions[0]?.workflowId;
      }
      expect(workflowId).toMatch(/^audit-scheduled/);
      const scheduled: AuditReport = await temporal.client.workflow.getHandle(workflowId!).result();
      expect(scheduled.status).toBe('flagged');
      expect(scheduled.findings.filter(isRogue).map((f) => f.digest)).toEqual([digests.y]);
      expect(scheduled.findings.map((f) => f.kind)).toEqual(['rogue-tag']);
    } finally {
      await runCli(['schedule', 'delete', '--audit'], env);
    }
    const { code, report } = await audit();
    expect(code).toBe(1);
    expect(report.counts).toEqual({ 'rogue-tag': 1, 'moved-tag': 0, unsigned: 0, unattested: 0 });
  }, 180_000);

  it('flags a tag moved by hand', async () => {
    const moved = `${production}/${prefix}/y:latest`;
    const pushed = Date.now();
    await skopeoCopy(`${s.registries.staging}/${prefix}/x@${digests.x}`, moved);
    const isMoved = (f: AuditFinding) => f.kind === 'moved-tag' && f.repository === `${production}/${prefix}/y` && f.tag === 'latest';
    const { finding, seconds } = await flaggedByEvents(isMoved, pushed);
    console.log(`webhook path flagged the move of ${moved} ${seconds.toFixed(1)} s after the push started`);
    expect(finding).toMatchObject({ digest: digests.x, expected: digests.y });
    expect(seconds).toBeLessThan(10);

    // The cheap audit trusts the promoter's record of the tags it placed; --verify HEADs them...
    expect((await audit()).report.findings.filter((f) => f.kind === 'moved-tag')).toEqual([]);
    const verified = await audit(['--verify']);
    expect(verified.code).toBe(1);
    expect(verified.report.findings.filter((f) => f.kind !== 'rogue-tag')).toEqual([
      expect.objectContaining({ kind: 'moved-tag', tag: 'latest', digest: digests.x, expected: digests.y }),
    ]);
    // ...and what it saw goes into the record, so from now on the cheap audit flags it too.
    expect((await audit()).report.findings.filter((f) => f.kind === 'moved-tag').map((f) => f.tag)).toEqual(['latest']);
  }, 180_000);

  it('counts its audits and findings in Prometheus', async () => {
    // Scheduled and manual audits above: 1 clean, then 5 flagged with 5 rogue tags and 2 moved tags.
    const poll = { timeout: 30_000, interval: 500 };
    await expect.poll(() => counter('promoter_audit_findings_total', { trigger: 'schedule', kind: 'rogue-tag' }), poll).toBe(5);
    expect(await counter('promoter_audit_findings_total', { trigger: 'schedule', kind: 'moved-tag' })).toBe(2);
    expect(await counter('promoter_audit_runs_total', { trigger: 'schedule', result: 'clean' })).toBe(1);
    expect(await counter('promoter_audit_runs_total', { trigger: 'schedule', result: 'flagged' })).toBe(5);
    // The webhook path: at least this file's rogue push and moved tag (other files' pushes may add).
    expect(await counter('promoter_audit_findings_total', { trigger: 'events', kind: 'rogue-tag' })).toBeGreaterThanOrEqual(1);
    expect(await counter('promoter_audit_findings_total', { trigger: 'events', kind: 'moved-tag' })).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
