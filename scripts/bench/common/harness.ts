// What every bench run sets up and takes down the same way: a run folder under .bench/, the
// bench's own registries (behind delay proxies with --rtt) counted by their request logs, worker
// processes on a task queue of the run's own, a Temporal client, and the step runner.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { connectClient } from '../../../client/connect';
import { RegistryClient } from '../../../lib/oci';
import { stackEnv, stackPaths } from '../../dev/stack';
import { buildIfStale, startWorkerGroup, type WorkerProcess } from '../../dev/worker-process';
import { printHeapSummary, summarizeHeapSnapshot } from './heap-summary';
import { AccessLog, type Role } from './access-log';
import { removeTree, startBenchRegistries, type BenchRegistries } from './registries';
import { StepRunner, type StepRecord } from './steps';
import { roleClassifier, seedWorkload, writeThinManifests, type Workload } from './workload';

export interface HarnessOptions {
  /** Run ids start with it: "bench", "shape", "shape1m". */
  kind: string;
  /** Destination registry hosts. */
  hosts: number;
  /** Delay in front of every bench registry, ms (0: none). */
  rttMs: number;
  /** The worker's per-host request budget (loopback registries: lifted from the product default). */
  rps: number;
  /** Wall-clock budget of the measured steps; a step still running then stops with partial figures. */
  timeLimitMs: number;
  /** Longest any one step may run. */
  stepLimitMs?: number;
  /** Keep the registries' storage after the run. */
  keep?: boolean;
  /** Take a heap snapshot of a worker the first time its RSS reaches this many MiB (`--heap-snapshot`). */
  heapSnapshotAtMiB?: number;
  log: (line: string) => void;
}

export const benchDir = (): string => join(stackPaths.root, '.bench');

export class BenchHarness {
  readonly steps: StepRecord[] = [];
  readonly registryClient = RegistryClient.fromDockerConfig({ limits: { default: { requestsPerSecond: 2000, burst: 2000, concurrency: 16 } } });
  worker?: WorkerProcess;
  private runnerOrUndefined?: StepRunner;
  private temporal?: { client: Client; close: () => Promise<void> };
  private classify: (repository: string) => Role = () => 'other';
  private workerCount = 1;
  private generation = 0;
  private snapshotWatch?: NodeJS.Timeout;
  private readonly snapshotTaken = new Set<number>();

  private constructor(
    readonly o: HarnessOptions,
    readonly prefix: string,
    readonly runDir: string,
    readonly workerEnv: Record<string, string>,
    readonly log: AccessLog,
    readonly regs: BenchRegistries,
  ) {}

  static async start(o: HarnessOptions): Promise<BenchHarness> {
    const prefix = `${o.kind}-${Date.now().toString(36)}`;
    const runDir = join(benchDir(), prefix);
    await mkdir(runDir, { recursive: true });
    Object.assign(process.env, stackEnv());
    const workerEnv = {
      ...stackEnv(),
      PROMOTER_TASK_QUEUE: `bench-${randomBytes(4).toString('hex')}`,
      PROMOTER_SIGNATURE_FORMAT: 'both',
      PROMOTER_REGISTRY_RPS: String(o.rps),
      PROMOTER_REGISTRY_BURST: String(Math.max(o.rps, 100)),
    };
    Object.assign(process.env, workerEnv); // the CLI code in this process starts runs on that queue
    // Roles by repository path: the log exists before the workload does; useWorkload() fills them in.
    // eslint-disable-next-line prefer-const -- the log exists first and may classify a request before this is set: a const would throw there
    let harness: BenchHarness | undefined;
    const log = new AccessLog((r) => harness?.classify(r) ?? 'other', new Map(), o.rttMs);
    o.log(`starting ${o.hosts} destination registries and a staging registry${o.rttMs ? ` behind ${o.rttMs} ms delay proxies` : ''}`);
    const regs = await startBenchRegistries({ dir: join(runDir, 'registries'), hosts: o.hosts, log });
    harness = new BenchHarness(o, prefix, runDir, workerEnv, log, regs);
    return harness;
  }

  get destinations(): string[] {
    return this.regs.destinations.map((r) => r.address);
  }

  /** The workload the requests belong to: their roles, and the sizes of its blobs. */
  useWorkload(w: Workload): void {
    this.useRoles(roleClassifier(w), w.blobSizes);
  }

  useRoles(classify: (repository: string) => Role, blobSizes: ReadonlyMap<string, number>): void {
    this.log.blobSizes = blobSizes;
    this.classify = classify;
  }

  /** Seeds staging and writes the thin manifests into `runDir/<name>`; returns the seeding time (not measured). */
  async seed(w: Workload, name = 'manifests'): Promise<{ seedMs: number; manifestsDir: string }> {
    const started = performance.now();
    await seedWorkload(this.registryClient, w.projects, w.images, undefined, (n, of) => this.o.log(`  seeded ${n}/${of}`));
    const seedMs = performance.now() - started;
    const manifestsDir = join(this.runDir, name);
    await writeThinManifests(manifestsDir, w.projects);
    this.o.log(`seeded staging in ${(seedMs / 1000).toFixed(1)} s (not measured); manifests in ${manifestsDir}`);
    return { seedMs, manifestsDir };
  }

  /** Starts the workers and the step runner (its time limit starts now); the first marker closes the set-up. */
  async startWorkers(n: number): Promise<StepRunner> {
    this.workerCount = n;
    // The workers run as users run them: the built `promoter worker` with its prebuilt workflow bundle.
    buildIfStale();
    this.worker = await this.workerGroup();
    this.watchForHeapSnapshot();
    this.temporal = await connectClient();
    this.runnerOrUndefined = new StepRunner(this.regs, this.log, this.worker, this.temporal.client, performance.now() + this.o.timeLimitMs, this.o.stepLimitMs);
    await this.runnerOrUndefined.idle();
    return this.runnerOrUndefined;
  }

  get runner(): StepRunner {
    if (!this.runnerOrUndefined) throw new Error('startWorkers() first');
    return this.runnerOrUndefined;
  }

  get temporalClient(): Client {
    if (!this.temporal) throw new Error('startWorkers() first');
    return this.temporal.client;
  }

  /**
   * Fresh workers after a step stopped by its time limit: the terminated run's activities would go
   * on in the old ones and load the registries under the next steps.
   */
  async restartWorkers(): Promise<void> {
    await this.worker?.kill();
    this.runner.worker = this.worker = await this.workerGroup();
  }

  private workerGroup(): Promise<WorkerProcess> {
    const g = this.generation++;
    const generation = g === 0 ? '' : g === 1 ? '-restarted' : `-restarted-${g}`;
    const n = this.workerCount;
    // With --heap-snapshot, SIGTTIN makes node write a snapshot into the run folder (not SIGUSR2, the
    // usual one: the Temporal runtime shuts the worker down on it).
    const nodeArgs = this.o.heapSnapshotAtMiB ? ['--heapsnapshot-signal=SIGTTIN', `--diagnostic-dir=${this.runDir}`] : [];
    return startWorkerGroup(n, (i) => ({
      env: this.workerEnv,
      compiled: true,
      nodeArgs,
      logFile: join(this.runDir, `worker${generation}${n > 1 ? `-${i + 1}` : ''}.log`),
    }));
  }

  /** Signals each worker once, the first time its RSS reaches the threshold. */
  private watchForHeapSnapshot(): void {
    const at = this.o.heapSnapshotAtMiB;
    if (!at) return;
    this.snapshotWatch = setInterval(() => {
      for (const w of this.worker?.members ?? []) {
        const rssMiB = w.rssBytes() / 2 ** 20;
        if (this.snapshotTaken.has(w.pid) || rssMiB < at) continue;
        this.snapshotTaken.add(w.pid);
        this.o.log(`worker ${w.pid} at ${rssMiB.toFixed(0)} MiB RSS: heap snapshot into ${this.runDir}`);
        w.child.kill('SIGTTIN');
      }
    }, 250);
  }

  /** Prints where the heap went in every snapshot the run took. */
  private async printHeapSnapshots(): Promise<void> {
    if (!this.o.heapSnapshotAtMiB) return;
    const files = (await readdir(this.runDir)).filter((f) => f.endsWith('.heapsnapshot'));
    if (!files.length) this.o.log(`no worker reached ${this.o.heapSnapshotAtMiB} MiB RSS: no heap snapshot`);
    for (const f of files) printHeapSummary(await summarizeHeapSnapshot(join(this.runDir, f)), this.o.log);
  }

  /** Runs a step, keeps its record and logs one line about it. */
  async step(s: Promise<StepRecord>): Promise<StepRecord> {
    const r = await s;
    this.steps.push(r);
    this.o.log(`${r.name}: ${(r.wallMs / 1000).toFixed(1)} s, ${r.tally.requests} requests${r.partial ? ` (PARTIAL: ${r.partial})` : ''}`);
    return r;
  }

  workerPeakRssBytes(): number {
    return Math.max(0, ...this.steps.map((s) => s.workerPeakRssBytes));
  }

  async stop(): Promise<void> {
    clearInterval(this.snapshotWatch);
    await this.worker?.stop();
    await this.printHeapSnapshots();
    await this.temporal?.close();
    await this.regs.stop();
    if (!this.o.keep) await removeTree(join(this.runDir, 'registries'));
  }
}
