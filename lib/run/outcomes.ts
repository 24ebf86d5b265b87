/**
 * What each phase returns to the workflow: counts and the key of its full result in S3, never the
 * full result itself, so the history stays small however many edges fail.
 */
import type { CopyTransfer } from '../oci/copy-with-referrers';
import type { RepositoryRef } from '../oci/reference';
import type { StoredRef } from './input';
import type { EdgeCounts } from './plan-format';

export const PHASES = ['setup', 'plan', 'provenance', 'validate', 'promote', 'sign', 'attest'] as const;
export type PhaseName = (typeof PHASES)[number];

type PhaseStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface PhaseResult {
  status: PhaseStatus;
  startedAt?: string;
  durationMs?: number;
  summary?: string;
}

export interface PlanSummary {
  plan: StoredRef;
  counts: EdgeCounts;
  /** Copy tasks to run in Promote (verdict promote, grouped per destination repo + digest). */
  copyTasks: number;
  /** Distinct source digests (Provenance and Validate work on these). */
  sourceDigests: number;
  registries: string[];
  /** Hosts Promote writes to (edges with verdict promote): the lanes a confirmed run takes. Absent in plans of older releases. */
  promoteHosts?: string[];
}

export interface Failure {
  /** "host/repo:tag@digest" or "host/repo@digest". */
  edge: string;
  phase: PhaseName;
  code: string;
  error: string;
}

/**
 * What Promote moved: the copies' own counts (referrersCopied: the referrers the source held, a
 * build's SBOMs and provenance but not its signatures, per destination), and the registry
 * requests the worker sent while the batch ran.
 */
export interface TransferCounts extends CopyTransfer {
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
  /**
   * sha256 of the stored result document, as returned to the workflow (the document cannot hold
   * its own hash): Promote and Sign read the blocked digests checked against it.
   */
  resultSha256?: string;
}

export interface PromoteBatchSummary extends PhaseOutcome {
  batch: number;
  promotedEdges: number;
  /** Edges the plan saw absent that another run put in place, at the same digest, before this one held the lane. */
  alreadyPresent?: number;
  failedEdges: number;
  tagMoves: number;
  lost: number;
  transfer: TransferCounts;
}

export interface PromoteSummary {
  batches: number;
  promotedEdges: number;
  /** See PromoteBatchSummary.alreadyPresent (absent: none, or a release before lanes). */
  alreadyPresent?: number;
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
  /** Verification summaries (SLSA VSA) signed now, and found archived by an earlier attempt (absent from summaries of earlier versions). */
  vsaWritten?: number;
  vsaAlreadyPresent?: number;
}

export function edgeName(e: { destination: RepositoryRef; tag: string | null; digest: string }): string {
  const base = `${e.destination.host}/${e.destination.repository}`;
  return e.tag ? `${base}:${e.tag}@${e.digest}` : `${base}@${e.digest}`;
}
