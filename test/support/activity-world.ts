// A worker's world in memory, for the activity tests: the fake registry behind the port, the
// memory store with the audit store's write-once rule, the worker's signing key, the manifests
// stored as the CLI stores them, and every activity run in Temporal's mock activity environment
// with the attempt number and heartbeat details a retry would get. A Run drives the phases in the
// workflow's order (workflows/promotion.ts), so the test of one phase starts from the documents
// the phases before it really wrote, not from hand-made ones.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { pino } from 'pino';
import { createActivities, type Activities } from '../../activities';
import type { SignatureTrust } from '../../activities/shared/registry-port';
import { loadConfig } from '../../lib/config';
import {
  bundleSha256,
  canonicalJson,
  DEFAULT_PROVENANCE_POLICY,
  DEFAULT_SIGNATURE_POLICY,
  type BundleImage,
  type ManifestBundle,
  type Project,
  type ProvenancePolicy,
  type SignaturePolicy,
} from '../../lib/manifests';
import type { RepositoryRef } from '../../lib/oci';
import { bundleKey } from '../../lib/run/storage-keys';
import { repoFor } from '../../lib/run/plan';
import { DEFAULT_RUN_OPTIONS, type AfterPromoteArgs, type PlanRef, type PromoteBatchArgs, type PromotionInput, type RunOptions } from '../../lib/run/input';
import {
  PHASES,
  type AttestSummary,
  type PhaseName,
  type PhaseResult,
  type PlanSummary,
  type PromoteSummary,
  type SignSummary,
  type VerificationSummary,
} from '../../lib/run/outcomes';
import type { MirrorInput, MirrorReport } from '../../lib/run/mirror-types';
import type { ReportInput, RunReport } from '../../lib/run/report';
import { loadSigningKey, loadVerificationKeys, type SignatureFormat, type SigningKey } from '../../lib/signing';
import { emptySummary, mergeSummaries } from '../../workflows/promote-batches';
import { addUp } from '../../workflows/shards';
import { FakeRegistry } from './fake-registry';
import { MemoryStore } from './memory-store';
import { p256Pair } from '../unit/signing/helpers';

const STAGING = 'staging.example/s';
const PROD = 'prod.example/p';
/** A mirror whose registry serves the OCI 1.1 referrers API. */
const MIRROR_A = 'mirror-a.example/p';
/** A mirror without the referrers API: bundles go into the `sha256-<hex>` fallback index. */
const MIRROR_B = 'mirror-b.example/p';
const DESTINATIONS = [PROD, MIRROR_A, MIRROR_B];

export const staging = (image: string): RepositoryRef => repoFor(STAGING, image);
export const prod = (image: string): RepositoryRef => repoFor(PROD, image);
export const mirrorA = (image: string): RepositoryRef => repoFor(MIRROR_A, image);
export const mirrorB = (image: string): RepositoryRef => repoFor(MIRROR_B, image);
export const everywhere = (image: string): RepositoryRef[] => [prod(image), mirrorA(image), mirrorB(image)];

export interface ProjectSpec {
  name?: string;
  source?: string;
  destinations?: string[];
  images: BundleImage[];
  signatures?: Partial<SignaturePolicy>;
  provenance?: Partial<ProvenancePolicy>;
}

/** A project as the manifest loaders normalize it (defaults: kpromo's policies, three destinations). */
export function project(spec: ProjectSpec): Project {
  const name = spec.name ?? 'demo';
  return {
    name,
    file: `manifests/${name}/promoter-manifest.yaml`,
    source: spec.source ?? STAGING,
    destinations: spec.destinations ?? DESTINATIONS,
    images: spec.images,
    signatures: { ...DEFAULT_SIGNATURE_POLICY, ...spec.signatures },
    provenance: { ...DEFAULT_PROVENANCE_POLICY, ...spec.provenance },
  };
}

// The worker reads its signing key from a file, as from PROMOTER_SIGNING_KEY.
let keyDir: string | undefined;
function keyFile(pem: string): string {
  if (!keyDir) {
    const dir = (keyDir = mkdtempSync(join(tmpdir(), 'promoter-activity-test-')));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const file = join(keyDir, `key-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem, { mode: 0o600 });
  return file;
}

// The SDK logs every failed attempt; the tests look at the failures themselves.
const QUIET = new DefaultLogger('ERROR', () => undefined);

export interface ActivityContext {
  workflowId: string;
  runId: string;
  attempt?: number;
  /** The details of the last heartbeat of the attempt before (what Temporal hands a retry). */
  heartbeat?: unknown;
}

/** One attempt of an activity, running: its heartbeats as Temporal would carry them (JSON), and its outcome. */
export class Attempt<A extends unknown[], R> {
  readonly beats: unknown[] = [];
  readonly done: Promise<R>;

  constructor(fn: (...args: A) => Promise<R>, args: A, ctx: ActivityContext) {
    const env = new MockActivityEnvironment(
      {
        attempt: ctx.attempt ?? 1,
        heartbeatDetails: ctx.heartbeat,
        activityType: fn.name,
        workflowExecution: { workflowId: ctx.workflowId, runId: ctx.runId },
      },
      { logger: QUIET },
    );
    env.on('heartbeat', (d: unknown) => this.beats.push(d === undefined ? undefined : JSON.parse(JSON.stringify(d))));
    this.done = env.run(fn, ...args);
    // An attempt a test abandons (its worker "died") must not fail the test by rejecting later.
    this.done.catch(() => undefined);
  }

  /** The checkpoint of the last heartbeat that carried one. */
  get checkpoint(): unknown {
    return this.beats.filter((b) => b !== undefined).at(-1);
  }
}

export class World {
  readonly registry = new FakeRegistry();
  readonly store = new MemoryStore();
  /** The worker's own signing key (PROMOTER_SIGNING_KEY). */
  readonly signingKey: SigningKey;
  private readonly env: Record<string, string>;

  constructor(opts: { format?: SignatureFormat; env?: Record<string, string> } = {}) {
    const pair = p256Pair();
    this.signingKey = loadSigningKey({ pem: pair.privatePem });
    this.registry.apiHosts.add(repoFor(MIRROR_A, 'x').host);
    this.env = { PROMOTER_SIGNING_KEY: keyFile(pair.privatePem), PROMOTER_SIGNATURE_FORMAT: opts.format ?? 'both', ...opts.env };
  }

  /** What verifies the worker's signatures. */
  get trust(): SignatureTrust {
    return { keys: loadVerificationKeys([this.signingKey.publicKeyPem]) };
  }

  /** A worker: activities with their own document cache and trust material over this world's registry and store. */
  worker(env: Record<string, string> = {}): Activities {
    return createActivities({ config: loadConfig({ ...this.env, ...env }), store: this.store, registry: this.registry, log: pino({ level: 'silent' }) });
  }

  /** Stores the manifests as the CLI does (canonical JSON under their hash) and returns the workflow input. */
  input(projects: Project[], opts: { confirm?: boolean; options?: Partial<RunOptions> } = {}): PromotionInput {
    const bundle: ManifestBundle = { version: 1, projects: [...projects].sort((a, b) => (a.name < b.name ? -1 : 1)) };
    const sha = bundleSha256(bundle);
    this.store.docs.set(bundleKey(sha), canonicalJson(bundle));
    return {
      bundleKey: bundleKey(sha),
      bundleSha256: sha,
      confirm: opts.confirm ?? true,
      options: { ...DEFAULT_RUN_OPTIONS, ...opts.options },
      origin: 'test',
    };
  }

  /** A run of the promotion workflow over `input` (a new run id: a new run). */
  run(input: PromotionInput, runId = `run-${++runs}`): Run {
    return new Run(this, input, { workflowId: `promote-${input.bundleSha256.slice(0, 16)}`, runId });
  }

  /** One run of the nightly signature re-mirroring (SignatureMirrorWorkflow's one activity). */
  mirror(input: MirrorInput, at: { runId?: string; worker?: Activities } = {}): Promise<MirrorReport> {
    const worker = at.worker ?? this.worker();
    return new Attempt(worker.mirrorSignatures, [input], { workflowId: 'mirror-signatures', runId: at.runId ?? `mirror-${++runs}` }).done;
  }

  /** The store's documents under a prefix, parsed. */
  docs<T = unknown>(prefix: string): Map<string, T> {
    return new Map([...this.store.docs].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, JSON.parse(v) as T]));
  }

  doc<T = unknown>(key: string): T {
    const body = this.store.docs.get(key);
    if (body === undefined) throw new Error(`no document ${key}`);
    return JSON.parse(body) as T;
  }
}
let runs = 0;

const STEPS = ['setup', 'plan', 'provenance', 'validate', 'promote', 'sign', 'attest', 'report'] as const;
export type Step = (typeof STEPS)[number];

/**
 * One workflow run, phase by phase as PromotionWorkflow calls them: each phase's summary is kept
 * for the next, Promote runs every batch and adds their summaries up as the workflow does (a batch
 * that fails for good is marked failed, the others go on), a dry run stops after Validate.
 */
export class Run {
  /** The worker the next activity runs on (replace it to let "another worker" take over). */
  worker: Activities;
  readonly phases = Object.fromEntries(PHASES.map((p) => [p, { status: 'pending' }])) as Record<PhaseName, PhaseResult>;
  setupDone = false;
  plan?: PlanSummary;
  provenance?: VerificationSummary;
  validate?: VerificationSummary;
  promote?: PromoteSummary;
  sign?: SignSummary;
  attest?: AttestSummary;
  report?: RunReport;

  constructor(
    readonly world: World,
    readonly input: PromotionInput,
    readonly ids: { workflowId: string; runId: string },
  ) {
    this.worker = world.worker();
  }

  /** Starts one attempt of an activity of this run. */
  start<A extends unknown[], R>(fn: (...args: A) => Promise<R>, args: A, at: { attempt?: number; heartbeat?: unknown } = {}): Attempt<A, R> {
    return new Attempt(fn, args, { ...this.ids, ...at });
  }

  exec<A extends unknown[], R>(fn: (...args: A) => Promise<R>, args: A, at: { attempt?: number; heartbeat?: unknown } = {}): Promise<R> {
    return this.start(fn, args, at).done;
  }

  get planRef(): PlanRef {
    if (!this.plan) throw new Error('no plan yet');
    return { input: this.input, plan: this.plan.plan };
  }

  batchArgs(batch: number): PromoteBatchArgs {
    return { ...this.planRef, batch, verificationKeys: [this.provenance!.resultKey, this.validate!.resultKey] };
  }

  get batches(): number {
    return Math.ceil(this.plan!.copyTasks / this.input.options.batchSize);
  }

  afterPromote(shard?: AfterPromoteArgs['shard']): AfterPromoteArgs {
    return { ...this.planRef, promoteResultKeys: this.promote!.resultKeys, ...(shard ? { shard } : {}) };
  }

  /** Runs every step up to and including `last` that has not run yet (a phase a test ran itself: set its summary here). */
  async through(last: Step): Promise<this> {
    for (const step of STEPS.slice(0, STEPS.indexOf(last) + 1)) await this.step(step);
    return this;
  }

  private async step(step: Step): Promise<void> {
    const w = this.worker;
    if (step === 'setup' && !this.setupDone) {
      await this.phase('setup', () => this.exec(w.setup, [this.input]));
      this.setupDone = true;
    }
    if (step === 'plan') this.plan ??= await this.phase('plan', () => this.exec(w.plan, [this.input]));
    if (step === 'provenance') this.provenance ??= await this.phase('provenance', () => this.exec(w.provenance, [this.planRef]));
    if (step === 'validate') this.validate ??= await this.phase('validate', () => this.exec(w.validate, [this.planRef]));
    if (!this.input.confirm && (step === 'promote' || step === 'sign' || step === 'attest')) {
      this.phases[step] = { status: 'skipped', summary: 'dry run' };
      return;
    }
    if (step === 'promote') this.promote ??= await this.phase('promote', () => this.promoteAll());
    const parts = Math.max(1, this.input.options.parallelBatches);
    if (step === 'sign') this.sign ??= await this.phase('sign', () => this.inParts(parts, (s) => this.exec(this.worker.sign, [this.afterPromote(s)])));
    if (step === 'attest') this.attest ??= await this.phase('attest', () => this.inParts(parts, (s) => this.exec(this.worker.attest, [this.afterPromote(s)])));
    if (step === 'report') this.report ??= await this.exec(w.writeReport, [this.reportInput()]);
  }

  private async promoteAll(): Promise<PromoteSummary> {
    let sofar = emptySummary();
    for (let batch = 0; batch < this.batches; batch++) {
      try {
        const b = await this.exec(this.worker.promoteBatch, [this.batchArgs(batch)]);
        sofar = mergeSummaries(sofar, { ...b, batches: 1, resultKeys: [b.resultKey] });
      } catch (err) {
        sofar = mergeSummaries(sofar, { ...emptySummary(), batches: 1, failedBatches: [{ batch, error: (err as Error).message }] });
      }
    }
    return sofar;
  }

  private async inParts<T extends SignSummary | AttestSummary>(parts: number, run: (shard: AfterPromoteArgs['shard']) => Promise<T>): Promise<T> {
    if (parts <= 1) return run(undefined);
    const results: T[] = [];
    for (let index = 0; index < parts; index++) results.push(await run({ index, of: parts }));
    return addUp(results);
  }

  private async phase<T>(name: PhaseName, body: () => Promise<T>): Promise<T> {
    const startedAt = new Date().toISOString();
    const result = await body();
    this.phases[name] = { status: 'succeeded', startedAt, durationMs: 1 };
    return result;
  }

  /** What the workflow hands the report activity. */
  reportInput(extra: Partial<ReportInput> = {}): ReportInput {
    return {
      input: this.input,
      ...this.ids,
      startedAt: '2026-01-01T00:00:00Z',
      phases: this.phases,
      ...(this.plan ? { plan: this.plan } : {}),
      ...(this.provenance ? { provenance: this.provenance } : {}),
      ...(this.validate ? { validate: this.validate } : {}),
      ...(this.promote ? { promote: this.promote } : {}),
      ...(this.sign ? { sign: this.sign } : {}),
      ...(this.attest ? { attest: this.attest } : {}),
      ...extra,
    };
  }
}
