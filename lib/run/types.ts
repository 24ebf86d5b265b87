import type { RepositoryRef } from '../oci/reference';

/**
 * The run model: what the workflow, its activities and the client exchange.
 * Plain data only (it crosses Temporal's payload converter and lands in S3).
 * Big things (the manifest bundle, the plan, per-batch results) live in S3;
 * these types carry their keys, hashes and counts.
 */

export const PHASES = ['setup', 'plan', 'provenance', 'validate', 'promote', 'sign', 'attest'] as const;
export type PhaseName = (typeof PHASES)[number];

export type PhaseStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'dry-run';

/** Options a user may set per run. Nothing secret: this is workflow input. */
export interface RunOptions {
  /** Copy tasks (one image digest into one destination repository) per Promote activity. */
  batchSize: number;
  /** Promote activities in flight at once. */
  parallelBatches: number;
  /** Batches one workflow runs itself; a larger plan fans out to child workflows of this many each. */
  batchesPerWorkflow: number;
  /**
   * HEAD every destination tag the manifests name, instead of trusting the promoter's own record of
   * tags it verified or wrote earlier (the default: a no-op run then costs one tags/list per repository).
   */
  verifyTags?: boolean;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = { batchSize: 200, parallelBatches: 4, batchesPerWorkflow: 250 };

/** Workflow input: a claim check on the bundle in S3, never the bundle itself. */
export interface PromotionInput {
  bundleKey: string;
  bundleSha256: string;
  confirm: boolean;
  options: RunOptions;
  /** What the user asked for, for the report (e.g. "--thin-manifest-dir manifests/"). */
  origin: string;
}

/** One promotion edge: a (destination registry, image, digest, tag) the manifests ask for. */
export type EdgeVerdict = 'promote' | 'present' | 'tag-move' | 'lost';

export type { RepositoryRef };

export interface PlanEdge {
  project: string;
  image: string;
  digest: string;
  /** null for a tagless digest (promoted by digest only). */
  tag: string | null;
  source: RepositoryRef;
  destination: RepositoryRef;
  /** Index of the destination registry in its project: 0 is the primary, the rest are mirrors. */
  destinationIndex: number;
  verdict: EdgeVerdict;
  /** For tag-move: the digest the destination tag points at now. */
  currentDigest?: string;
}

export interface EdgeCounts {
  total: number;
  promote: number;
  present: number;
  tagMoves: number;
  lost: number;
  /** Edges asked for more than once (same destination listed twice, or by two projects). */
  overlaps: number;
}

/**
 * The plan as stored: the manifests' shape with a verdict per edge, compact enough for a million
 * edges (a few bytes each). Read it with planEdges() (lib/run/plan.ts), which yields PlanEdges.
 */
export interface Plan {
  version: 2;
  workflowId: string;
  runId: string;
  bundleSha256: string;
  createdAt: string;
  projects: PlannedProject[];
  counts: EdgeCounts;
  registries: string[];
  /** Destination repo key -> the `sha256-…` tags it listed at plan time (signatures already there). */
  signatureTags: Record<string, string[]>;
  /** Destination repo key -> digest -> the signature the promoter itself wrote or verified there. */
  signedByPromoter: Record<string, Record<string, string>>;
  /** Destination repo keys that listed no tags when planned. */
  newRepositories: string[];
}

export interface PlannedProject {
  name: string;
  /** Registry names as the manifest writes them (host[:port][/prefix]). */
  source: string;
  destinations: string[];
  images: { name: string; digests: PlannedDigest[] }[];
}

/** Verdict letters: promote, present (=), tag move, lost; `-` an edge another one already asked for (an overlap). */
export type VerdictLetter = 'P' | '=' | 'M' | 'L' | '-';

export interface PlannedDigest {
  digest: string;
  /** Its tags; none for a digest promoted by digest only. */
  tags: string[];
  /** One letter per edge: for each destination in order, one per tag (one for a tagless digest). */
  verdicts: string;
  /** Tag moves: `${destinationIndex}:${tag}` -> the digest the destination tag points at now. */
  moves?: Record<string, string>;
}

/** What the workflow keeps of a stored object. */
export interface StoredRef {
  key: string;
  sha256: string;
}

export interface PlanSummary {
  plan: StoredRef;
  counts: EdgeCounts;
  /** Copy tasks to run in Promote (verdict promote, grouped per destination repo + digest). */
  copyTasks: number;
  /** Distinct source digests (Provenance and Validate work on these). */
  sourceDigests: number;
  registries: string[];
}

export interface Failure {
  /** "host/repo:tag@digest" or "host/repo@digest". */
  edge: string;
  phase: PhaseName;
  code: string;
  error: string;
}

export interface TransferCounts {
  blobsUploaded: number;
  blobsMounted: number;
  blobsSkipped: number;
  bytesUploaded: number;
  manifestsWritten: number;
  /** Referrers the source held (a build's SBOMs and provenance; not its signatures) copied with the image, per destination. */
  referrersCopied: number;
  requests: number;
}

/**
 * Every phase activity writes its full result (with every failure) to S3 and returns only
 * counts and the key: the workflow history stays small however many edges fail.
 */
export interface PhaseOutcome {
  resultKey: string;
  /** A phase run in parts (Sign, Attest): every part's result document; resultKey is the first. */
  resultKeys?: string[];
  failureCount: number;
}

export interface VerificationSummary extends PhaseOutcome {
  mode: string;
  checked: number;
  passed: number;
  failed: number;
  warnings: number;
  missing: number;
  /** Source digests whose edges must not be promoted (policy `require` and verification failed). */
  blocked: number;
}

export interface PromoteBatchSummary extends PhaseOutcome {
  batch: number;
  promotedEdges: number;
  failedEdges: number;
  tagMoves: number;
  lost: number;
  transfer: TransferCounts;
}

export interface PromoteSummary {
  batches: number;
  promotedEdges: number;
  failedEdges: number;
  tagMoves: number;
  lost: number;
  failureCount: number;
  transfer: TransferCounts;
  resultKeys: string[];
  /**
   * Batches whose activity failed for good (retries exhausted, or a non-retryable error): the run
   * goes on with the others, and the report counts every edge of these batches as failed.
   */
  failedBatches?: { batch: number; error: string }[];
}

/** Counts per image (a top-level digest), except manifestsSigned (an index and each of its children). */
export interface SignSummary extends PhaseOutcome {
  signed: number;
  alreadySigned: number;
  /** Signature copies made: (image, mirror) pairs that lacked or differed from the primary's. */
  mirrored: number;
  manifestsSigned: number;
}

export interface AttestSummary extends PhaseOutcome {
  written: number;
  alreadyPresent: number;
}

export interface PhaseResult {
  status: PhaseStatus;
  startedAt?: string;
  durationMs?: number;
  summary?: string;
}

/** The report contract: what `promoter report --json` prints (README, "Report"). */
export interface RunReport {
  workflowId: string;
  runId: string;
  status: RunStatus;
  dryRun: boolean;
  origin: string;
  bundleSha256: string;
  startedAt: string;
  finishedAt?: string;
  phases: Record<PhaseName, PhaseResult>;
  edges: {
    total: number;
    promoted: number;
    alreadyPresent: number;
    failed: number;
    lost: number;
    tagMoves: number;
    overlaps: number;
    toPromote: number;
  };
  transfer: TransferCounts;
  provenance?: Omit<VerificationSummary, 'resultKey' | 'failureCount'>;
  signaturesVerified?: Omit<VerificationSummary, 'resultKey' | 'failureCount'>;
  signatures: { signed: number; alreadySigned: number; mirrored: number; manifestsSigned: number };
  attestations: { written: number; alreadyPresent: number };
  audit: { bucket: string; bundleKey: string; planKey?: string; reportKey?: string; resultKeys: string[] };
  failures: Failure[];
  /** How many failures exist in total (the list above may be capped). */
  failureCount: number;
}

/** Progress, as the `progress` query returns it while a run goes on. */
export interface RunProgress {
  workflowId: string;
  status: RunStatus;
  currentPhase: PhaseName | 'done';
  phases: Record<PhaseName, PhaseResult>;
  edges?: EdgeCounts;
  batchesDone: number;
  batchesTotal: number;
}

export const emptyTransfer = (): TransferCounts => ({
  blobsUploaded: 0,
  blobsMounted: 0,
  blobsSkipped: 0,
  bytesUploaded: 0,
  manifestsWritten: 0,
  referrersCopied: 0,
  requests: 0,
});

/** Field-by-field sum of two records of counts (the keys of `a`). */
export function sumCounts<T extends { [K in keyof T]: number }>(a: T, b: T): T {
  const out = { ...a };
  // A key one side lacks (a record from an older release) counts as 0.
  for (const k of Object.keys(a) as (keyof T)[]) out[k] = ((a[k] ?? 0) + (b[k] ?? 0)) as T[keyof T];
  return out;
}

export const addTransfer = (a: TransferCounts, b: TransferCounts): TransferCounts => sumCounts(a, b);

export function edgeName(e: { destination: RepositoryRef; tag: string | null; digest: string }): string {
  const base = `${e.destination.host}/${e.destination.repository}`;
  return e.tag ? `${base}:${e.tag}@${e.digest}` : `${base}@${e.digest}`;
}

/** Workflow ids derive from the bundle hash, so the same manifests map to the same run. */
export function promotionWorkflowId(bundleSha256: string, confirm: boolean): string {
  return `${confirm ? 'promote' : 'plan'}-${bundleSha256.slice(0, 16)}`;
}

export const TASK_QUEUE = 'promoter';
export const MAX_FAILURES_IN_REPORT = 500;

/** What the workflow hands the report activity: its own bookkeeping plus each phase's summary. */
export interface ReportInput {
  input: PromotionInput;
  workflowId: string;
  runId: string;
  startedAt: string;
  phases: Record<PhaseName, PhaseResult>;
  plan?: PlanSummary;
  provenance?: VerificationSummary;
  validate?: VerificationSummary;
  promote?: PromoteSummary;
  sign?: SignSummary;
  attest?: AttestSummary;
  /** A phase that failed as a whole (not one edge): the run stops there. */
  fatal?: { phase: PhaseName; error: string };
}

/** Arguments of the phase activities after Plan: where the plan is and what to skip. */
export interface PlanRef {
  input: PromotionInput;
  plan: StoredRef;
}

export interface PromoteBatchArgs extends PlanRef {
  batch: number;
  /** Result keys of Provenance and Validate, whose blocked digests are not promoted. */
  verificationKeys: string[];
}

export interface AfterPromoteArgs extends PlanRef {
  promoteResultKeys: string[];
  /** This activity's part of the images in place (absent: all of them). */
  shard?: Shard;
}

/**
 * Part `index` (0-based) of `of`: Sign and Attest run one activity per part, so that several
 * workers share them. Parts are cut by the primary destination's repository (lib/run/shard.ts),
 * so a repository, and with it its tag record, belongs to one part.
 */
export interface Shard {
  index: number;
  of: number;
}
