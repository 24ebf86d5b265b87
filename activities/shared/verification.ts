/**
 * The shared engine of Provenance and Validate: check each distinct source digest once, apply
 * the project's policy mode, and record which digests may be neither promoted nor signed.
 *
 *   mode       missing evidence          evidence fails
 *   require    fail + block              fail + block
 *   if-present pass (counted missing)    fail + block        (signatures)
 *   warn       warning                   warning             (provenance)
 *   off        not checked               not checked
 */
import type { ManifestBundle, Project } from '../../lib/manifests';
import type { VerificationDocument } from '../../lib/run/documents';
import { phaseResultKey } from '../../lib/run/storage-keys';
import { planEdges, repoFor } from '../../lib/run/plan';
import type { Plan } from '../../lib/run/plan-format';
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import type { Failure, VerificationSummary } from '../../lib/run/outcomes';
import type { PlanRef } from '../../lib/run/input';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from './deps';
import type { Heartbeat } from './heartbeat';
import { earlierResult, writeResult } from './results';
import { loadBundle } from './documents';

type CheckResult = { status: 'passed'; detail?: string } | { status: 'missing' } | { status: 'failed'; reason: string };
type Mode = 'require' | 'if-present' | 'warn' | 'off';

export interface VerificationSpec<P extends { mode: string }> {
  phase: 'provenance' | 'validate';
  policyOf: (p: Project) => P;
  check: (deps: ActivityDeps, source: RepositoryRef, digest: string, policy: P) => Promise<CheckResult>;
}

export interface Subject<P> {
  source: RepositoryRef;
  digest: string;
  policy: P;
  project: string;
}

export async function runVerification<P extends { mode: string }>(
  deps: ActivityDeps,
  hb: Heartbeat,
  args: PlanRef,
  spec: VerificationSpec<P>,
): Promise<VerificationSummary> {
  const { workflowId, runId } = runIds();
  const earlier = await earlierResult<VerificationSummary>(deps, phaseResultKey(workflowId, runId, spec.phase));
  if (earlier) return earlier;
  const bundle = await loadBundle(deps.store, args.input);
  const plan = await deps.documents.plan(args.plan);
  const pending = toVerify(plan);
  const subjects = subjectsOf(bundle, spec.policyOf).filter((s) => s.policy.mode !== 'off' && pending.has(`${repositoryKey(s.source)}@${s.digest}`));
  const modes = new Set(bundle.projects.map((p) => spec.policyOf(p).mode));

  const failures: Failure[] = [];
  const warnings: Failure[] = [];
  const blocked = new Set<string>();
  const counts = { checked: 0, passed: 0, failed: 0, missing: 0, warnings: 0 };
  let done = 0;
  await hb.during(() => ({ done, of: subjects.length }), () => mapPool(subjects, 16, async (s) => {
    const j = await judge(deps, spec, s);
    counts.checked++;
    if (j.result.status === 'passed') counts.passed++;
    else if (j.result.status === 'missing') counts.missing++;
    else counts.failed++;
    if (j.blocks) {
      blocked.add(s.digest);
      failures.push(j.failure!);
    } else if (j.failure) {
      counts.warnings++;
      warnings.push(j.failure);
    }
    if (++done % 25 === 0) hb.beat({ done, of: subjects.length });
  }));

  const summary: VerificationSummary = {
    mode: modes.size === 1 ? [...modes][0]! : 'mixed',
    ...counts,
    blocked: blocked.size,
    resultKey: phaseResultKey(workflowId, runId, spec.phase),
    failureCount: failures.length,
  };
  const doc: VerificationDocument = { summary, failures, warnings, blockedDigests: [...blocked].sort() };
  return writeResult(deps, summary.resultKey, doc);
}

/**
 * The source digests to check: those with an edge to promote, and those found in place where the
 * promoter's record does not say it signed them. Sign signs the latter now, so their policy must
 * pass now: somebody else put them there, unchecked. What the promoter signed there was checked
 * when it was promoted.
 */
function toVerify(plan: Plan): Set<string> {
  const out = new Set<string>();
  for (const e of planEdges(plan)) {
    const unvouched = e.verdict === 'present' && !plan.signedByPromoter?.[repositoryKey(e.destination)]?.[e.digest];
    if (e.verdict === 'promote' || unvouched) out.add(`${repositoryKey(e.source)}@${e.digest}`);
  }
  return out;
}

export interface Judgement {
  result: CheckResult;
  /** A failure (blocks) or a warning (does not), under the policy's mode; none when it passed. */
  failure?: Failure;
  blocks: boolean;
}

/** One subject checked and judged by its policy's mode (see the table above). */
export async function judge<P extends { mode: string }>(deps: ActivityDeps, spec: VerificationSpec<P>, s: Subject<P>): Promise<Judgement> {
  let result: CheckResult;
  try {
    result = await spec.check(deps, s.source, s.digest, s.policy);
  } catch (err) {
    result = { status: 'failed', reason: `could not verify: ${(err as Error).message}` };
  }
  const mode = s.policy.mode as Mode;
  const problem = result.status === 'failed' ? result.reason : result.status === 'missing' ? `no ${spec.phase === 'provenance' ? 'provenance' : 'signature'} found` : undefined;
  if (!problem || mode === 'off' || (mode === 'if-present' && result.status === 'missing')) return { result, blocks: false };
  const failure: Failure = {
    edge: `${repositoryKey(s.source)}@${s.digest}`,
    phase: spec.phase,
    code: result.status === 'missing' ? 'MISSING' : 'VERIFICATION_FAILED',
    error: `${s.project}: ${problem}`,
  };
  return { result, failure, blocks: mode !== 'warn' };
}

/** The source digests this run's Provenance and Validate blocked: Sign signs none of them anywhere. */
export async function blockedInRun(deps: ActivityDeps, workflowId: string, runId: string): Promise<Set<string>> {
  return deps.documents.blockedDigests([phaseResultKey(workflowId, runId, 'provenance'), phaseResultKey(workflowId, runId, 'validate')]);
}

/** Each distinct (source repository, digest) with the policy of the project naming it. */
function subjectsOf<P>(bundle: ManifestBundle, policyOf: (p: Project) => P): Subject<P>[] {
  const seen = new Map<string, Subject<P>>();
  for (const p of bundle.projects) {
    for (const img of p.images) {
      const source = repoFor(p.source, img.name);
      for (const digest of Object.keys(img.dmap)) {
        const key = `${repositoryKey(source)}@${digest}`;
        if (!seen.has(key)) seen.set(key, { source, digest, policy: policyOf(p), project: p.name });
      }
    }
  }
  return [...seen.values()];
}
