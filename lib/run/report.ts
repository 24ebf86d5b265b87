/** The report contract (README, "Report") and the progress the workflow answers while it runs. */
import type { PromotionInput } from './input';
import type { Failure, PhaseName, PhaseResult, PlanSummary, PromoteSummary, SignSummary, AttestSummary, TransferCounts, VerificationSummary } from './outcomes';
import type { LaneWait } from './lanes';
import type { EdgeCounts } from './plan-format';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'dry-run';

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
  /** Promotion attestations, and verification summaries (SLSA VSA, `vsa…`), one of each per promoted digest. */
  attestations: { written: number; alreadyPresent: number; vsaWritten: number; vsaAlreadyPresent: number };
  audit: {
    bucket: string;
    bundleKey: string;
    planKey?: string;
    reportKey?: string;
    resultKeys: string[];
    /** A run with more failures than the report lists: every one, in parts (`{ failures: [...] }`). */
    failureKeys?: string[];
  };
  failures: Failure[];
  /** How many failures exist in total (the list above may be capped). */
  failureCount: number;
  /** Every failure counted by its code (absent from reports of earlier releases). */
  failuresByCode?: Record<string, number>;
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
  /** A confirmed run waiting before Promote for another run to finish with a destination host. */
  waitingForLane?: LaneWait;
}

/** Failures the report as returned to the workflow lists. */
export const MAX_FAILURES_IN_REPORT = 500;
/** Failures the stored report lists; a run with more writes them all in parts of this size (audit.failureKeys). */
export const MAX_FAILURES_STORED = 10_000;

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
