/**
 * The shared engine of Provenance and Validate: check each distinct source digest once, apply
 * the project's policy mode, and record which digests may not be promoted.
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
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import type { Failure, VerificationSummary } from '../../lib/run/outcomes';
import type { PlanRef } from '../../lib/run/input';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from './deps';
import type { Heartbeat } from './heartbeat';
import { earlierResult, writeResult } from './results';
import { loadBundle } from './documents';

export type CheckResult = { status: 'passed'; detail?: string } | { status: 'missing' } | { status: 'failed'; reason: string };
export type Mode = 'require' | 'if-present' | 'warn' | 'off';

export interface VerificationSpec<P extends { mode: string }> {
  phase: 'provenance' | 'validate';
  policyOf: (p: Project) => P;
  check: (deps: ActivityDeps, source: RepositoryRef, digest: string, policy: P) => Promise<CheckResult>;
}

interface Subject<P> {
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
  // Only digests with something left to promote matter: what is in place everywhere was checked when it was promoted.
  const plan = await deps.documents.plan(args.plan);
  const pending = new Set<string>();
  for (const e of planEdges(plan)) if (e.verdict === 'promote') pending.add(`${repositoryKey(e.source)}@${e.digest}`);
  const subjects = subjectsOf(bundle, spec.policyOf).filter((s) => s.policy.mode !== 'off' && pending.has(`${repositoryKey(s.source)}@${s.digest}`));
  const modes = new Set(bundle.projects.map((p) => spec.policyOf(p).mode));

  const failures: Failure[] = [];
  const warnings: Failure[] = [];
  const blocked = new Set<string>();
  const counts = { checked: 0, passed: 0, failed: 0, missing: 0, warnings: 0 };
  let done = 0;
  await hb.during(() => ({ done, of: subjects.length }), () => mapPool(subjects, 16, async (s) => {
    const ref = `${repositoryKey(s.source)}@${s.digest}`;
    let result: CheckResult;
    try {
      result = await spec.check(deps, s.source, s.digest, s.policy);
    } catch (err) {
      result = { status: 'failed', reason: `could not verify: ${(err as Error).message}` };
    }
    counts.checked++;
    const mode = s.policy.mode as Mode;
    if (result.status === 'passed') counts.passed++;
    else if (result.status === 'missing') counts.missing++;
    else counts.failed++;

    const problem = result.status === 'failed' ? result.reason : result.status === 'missing' ? `no ${spec.phase === 'provenance' ? 'provenance' : 'signature'} found` : undefined;
    if (problem && (mode === 'require' || (mode === 'if-present' && result.status === 'failed'))) {
      blocked.add(s.digest);
      failures.push({ edge: ref, phase: spec.phase, code: result.status === 'missing' ? 'MISSING' : 'VERIFICATION_FAILED', error: `${s.project}: ${problem}` });
    } else if (problem && mode === 'warn') {
      counts.warnings++;
      warnings.push({ edge: ref, phase: spec.phase, code: result.status === 'missing' ? 'MISSING' : 'VERIFICATION_FAILED', error: `${s.project}: ${problem}` });
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
