// The registry budget shared through the budget coordinator, against a real Temporal server (the
// CLI's dev server, in-process) and real processes: each lessee (test/support/budget-lessee.ts)
// leases its share the way a worker does and, while busy, sends requests as fast as that share
// lets it to a counting server here. A killed lessee is SIGKILLed: no goodbye, its lease lapses.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toolPaths } from '../../scripts/dev/stack/paths';
import { budgetCoordinatorId, leasesQuery } from '../../workflows/budget-coordinator';
import { WORKFLOWS_PATH } from '../../workflows/location';
import { ALL_SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RPS = 40;
const BURST = 4;

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `budget-${randomBytes(4).toString('hex')}`;

/** Requests the counting server saw: which lessee, when. */
const seen: { worker: string; at: number }[] = [];
let server: Server;
let target: string;

interface Lessee {
  id: string;
  child: ChildProcess;
  /** Every share it was given, in order. */
  shares: { share: number; at: number }[];
  setBusy(busy: boolean): void;
}
const lessees: Lessee[] = [];

function startLessee(id: string, busy: boolean): Lessee {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/budget-lessee.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      LESSEE_NAMESPACE: 'default',
      LESSEE_TASK_QUEUE: taskQueue,
      LESSEE_ID: id,
      LESSEE_TARGET: target,
      LESSEE_RPS: String(RPS),
      LESSEE_BURST: String(BURST),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const l: Lessee = {
    id,
    child,
    shares: [],
    setBusy: (b) => child.stdin.write(b ? 'busy\n' : 'idle\n'),
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const { share, at } = JSON.parse(line) as { share: number; at: number };
    l.shares.push({ share, at });
  });
  l.setBusy(busy);
  lessees.push(l);
  return l;
}

const current = (l: Lessee): number => l.shares.at(-1)?.share ?? 0;

function kill(l: Lessee): number {
  l.child.kill('SIGKILL');
  return Date.now();
}

/** Requests per lessee in [from, to), per second. */
function rate(id: string, from: number, to: number): number {
  return seen.filter((s) => s.worker === id && s.at >= from && s.at < to).length / ((to - from) / 1000);
}

/** The most requests all lessees together sent in any one-second window of [from, to). */
function peakWindow(from: number, to: number): number {
  const times = seen
    .filter((s) => s.at >= from && s.at < to)
    .map((s) => s.at)
    .sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= 1000) i++;
    peak = Math.max(peak, j - i + 1);
  }
  return peak;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const temporal = toolPaths().temporal;
  if (!temporal) throw new Error('the Temporal CLI is not installed: run `bash scripts/setup.sh`');
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: temporal }, searchAttributes: ALL_SEARCH_ATTRIBUTE_KEYS },
  });
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH });
  running = worker.run();
  server = createServer((req, res) => {
    const ua = req.headers['user-agent'] ?? '';
    if (ua.startsWith('lessee/')) seen.push({ worker: ua.slice('lessee/'.length), at: Date.now() });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterEach(async () => {
  for (const l of lessees.splice(0)) l.child.kill('SIGKILL');
  // The next test starts from an empty table: the killed lessees' leases lapse first.
  const handle = env.client.workflow.getHandle(budgetCoordinatorId(taskQueue));
  await expect.poll(async () => (await handle.query(leasesQuery)).filter((l) => l.expiresAt >= Date.now()).length, { timeout: 20_000, interval: 500 }).toBe(0);
  seen.length = 0;
}, 30_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  server?.close();
});

describe('the registry budget, leased from the coordinator', () => {
  it('kill 3 of 4 busy workers: the survivor has the whole budget within 10 s', async () => {
    const all = ['w1', 'w2', 'w3', 'w4'].map((id) => startLessee(id, true));
    await expect.poll(() => all.map(current).every((s) => Math.abs(s - 0.25) < 1e-6), { timeout: 30_000, interval: 200 }).toBe(true);
    const [survivor, ...doomed] = all as [Lessee, ...Lessee[]];
    let killedAt = 0;
    for (const l of doomed) killedAt = kill(l);
    await expect.poll(() => current(survivor), { timeout: 10_000, interval: 100 }).toBe(1);
    const reached = survivor.shares.find((s) => s.share === 1 && s.at >= killedAt)!.at;
    expect(reached - killedAt).toBeLessThan(10_000);
    // And its limiter really was raised: it sends well past the quarter it had (the machine's load,
    // not the budget, may keep it under the full rate).
    await sleep(3_000);
    expect(rate('w1', Date.now() - 2_000, Date.now())).toBeGreaterThan(RPS * 0.4);
  }, 90_000);

  it('two busy workers on one host: together they stay within the budget, each at about half', async () => {
    const a = startLessee('a', true);
    await expect.poll(() => current(a), { timeout: 30_000, interval: 200 }).toBe(1);
    const b = startLessee('b', true);
    await expect.poll(() => current(b), { timeout: 30_000, interval: 200 }).toBe(0.5);
    const from = Date.now();
    await sleep(6_000);
    const to = Date.now();
    // Any second, the joiner's first included: the rate plus at most each bucket's burst once.
    expect(peakWindow(a.shares[0]!.at, to)).toBeLessThanOrEqual(RPS + 2 * BURST);
    expect(rate('a', from, to) + rate('b', from, to)).toBeLessThanOrEqual(RPS * 1.05);
    expect(rate('b', from, to)).toBeGreaterThan(RPS * 0.4);
    expect(current(a)).toBe(0.5);
  }, 90_000);

  it('one busy and one idle worker: the busy one gets at least 90% of the budget', async () => {
    const idle = startLessee('idle', false);
    const busy = startLessee('busy', true);
    await expect.poll(() => current(busy), { timeout: 30_000, interval: 200 }).toBeGreaterThanOrEqual(0.9);
    const from = Date.now();
    await sleep(4_000);
    const busyRate = rate('busy', from, Date.now());
    expect(busyRate).toBeGreaterThan(RPS * 0.55); // more than an even split would let it
    expect(busyRate).toBeLessThanOrEqual(RPS * 1.05);
    expect(current(idle)).toBeLessThanOrEqual(0.1);
    // Once the idle one has work, they share evenly.
    idle.setBusy(true);
    await expect.poll(() => current(idle), { timeout: 10_000, interval: 200 }).toBe(0.5);
    await expect.poll(() => current(busy), { timeout: 10_000, interval: 200 }).toBe(0.5);
  }, 90_000);
});
