/**
 * What the workflow is started with and what it hands its phase activities. Plain data, nothing
 * secret (it is workflow input and history): the manifest bundle and the plan stay in S3, these
 * carry their keys and hashes.
 */

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

/** Workflow ids derive from the bundle hash, so the same manifests map to the same run. */
export function promotionWorkflowId(bundleSha256: string, confirm: boolean): string {
  return `${confirm ? 'promote' : 'plan'}-${bundleSha256.slice(0, 16)}`;
}

/** What the workflow keeps of a stored object. */
export interface StoredRef {
  key: string;
  sha256: string;
}

/** Arguments of the phase activities after Plan: where the plan is and what to skip. */
/**
 * A phase's result document: its key and hash as the workflow holds them, or the key alone (runs
 * that began before the phases returned their result's hash).
 */
export type ResultRef = StoredRef | string;

export interface PlanRef {
  input: PromotionInput;
  plan: StoredRef;
}

export interface PromoteBatchArgs extends PlanRef {
  batch: number;
  /** Result keys of Provenance and Validate, whose blocked digests are not promoted. */
  verificationKeys: string[];
  /**
   * Another run held one of this run's lanes after its plan was made (lib/run/lanes.ts): what the
   * plan saw may have changed, so every tag is looked at before it is written, and one found in
   * place at the right digest counts as already present, not promoted.
   */
  laneContended?: boolean;
  /** The same results with their hashes, read checked (absent in runs that began before them). */
  verification?: StoredRef[];
}

export interface AfterPromoteArgs extends PlanRef {
  promoteResultKeys: string[];
  /** Provenance's and Validate's results with their hashes: what Sign signs nowhere (absent in runs that began before them). */
  verification?: StoredRef[];
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
