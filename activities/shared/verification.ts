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
import { canonicalJson, type ManifestBundle, type Project } from '../../lib/manifests';
import type { VerificationDocument } from '../../lib/run/documents';
import type { CheckRecord } from '../../lib/run/vsa';
import { phaseResultKey } from '../../lib/run/storage-keys';
import { planEdges, repoFor } from '../../lib/run/plan';
import type { Plan } from '../../lib/run/plan-format';
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import type { Failure, VerificationSummary } from '../../lib/run/outcomes';
import type { PlanRef, ResultRef, StoredRef } from '../../lib/run/input';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from './deps';
import type { Heartbeat } from './heartbeat';
import { writeOnce } from './write-once';
import { loadBundle } from './documents';

/** `inputs`: digests of the manifests whose evidence verified (a verification summary names them). */
export type CheckResult = { status: 'passed'; detail?: string; inputs?: string[] } | { status: 'missing' } | { status: 'failed'; reason: string };
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
  const key = phaseResultKey(workflowId, runId, spec.phase);
  // An earlier attempt's result stands (./results.ts), returned with the hash of what is stored.
  const earlier = await deps.store.readJsonIfExists<VerificationDocument>(key);
  if (earlier) return { ...earlier.value.summary, resultSha256: earlier.stored.sha256 };
  const bundle = await loadBundle(deps.store, args.input);
  const plan = await deps.documents.plan(args.plan);
  const pending = toVerify(plan);
  // Every project naming a digest is judged by its own policy: one project's `off` says nothing
  // about another's edges.
  const subjects = subjectsOf(bundle, spec.policyOf).filter((s) => s.policy.mode !== 'off' && pending.has(`${repositoryKey(s.source)}@${s.digest}`));
  const check = sharedChecks(deps);
  const modes = new Set(bundle.projects.map((p) => spec.policyOf(p).mode));

  const failures: Failure[] = [];
  const warnings: Failure[] = [];
  const blocked = new Set<string>();
  const records: Record<string, CheckRecord> = {};
  const counts = { checked: 0, passed: 0, failed: 0, missing: 0, warnings: 0 };
  let done = 0;
  await hb.during(
    () => ({ done, of: subjects.length }),
    () =>
      mapPool(subjects, 16, async (s) => {
        const j = await judge(deps, spec, s, check);
        const inputs = j.result.status === 'passed' ? (j.result.inputs ?? []) : [];
        // Several projects may name the digest: the record keeps the worst verdict (a summary is written only when all passed).
        const recordKey = `${repositoryKey(s.source)}@${s.digest}`;
        if (records[recordKey]?.status !== 'failed' && (records[recordKey]?.status !== 'missing' || j.result.status === 'failed')) {
          records[recordKey] = { project: s.project, status: j.result.status, ...(inputs.length ? { inputs } : {}), at: new Date().toISOString() };
        }
        counts.checked++;
        if (j.result.status === 'passed') counts.passed++;
        else if (j.result.status === 'missing') counts.missing++;
        else counts.failed++;
        if (j.blocks) {
          // Blocked per digest, not per project: a signature is made for a digest at a destination,
          // and the one image at a destination is every project's that names it there, so the edges
          // of a project whose policy is off cannot be signed (or promoted to be signed) without
          // signing what another project's policy refused.
          blocked.add(s.digest);
          failures.push(j.failure!);
        } else if (j.failure) {
          counts.warnings++;
          warnings.push(j.failure);
        }
        if (++done % 25 === 0) hb.beat({ done, of: subjects.length });
      }),
  );

  const summary: VerificationSummary = {
    mode: modes.size === 1 ? [...modes][0]! : 'mixed',
    ...counts,
    blocked: blocked.size,
    resultKey: key,
    failureCount: failures.length,
  };
  const doc: VerificationDocument = { summary, failures, warnings, blockedDigests: [...blocked].sort(), records };
  const stands = await writeOnce(deps.store, key, doc);
  if (!stands.ours) deps.log.warn({ key }, 'another attempt of this activity wrote its result first; keeping that one');
  return { ...stands.value.summary, resultSha256: stands.stored.sha256 };
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

/** Runs a source check; the same subject and policy may be asked for more than once. */
export type Checker = <P extends { mode: string }>(spec: VerificationSpec<P>, s: Subject<P>) => Promise<CheckResult>;

/**
 * One check per (phase, source repository, digest, policy): projects that name one digest under
 * identical policies share it, so a digest many projects list costs the requests of one check.
 * Held for one activity call: it is what the registry answered during this check, not a cache.
 */
export function sharedChecks(deps: ActivityDeps): Checker {
  const seen = new Map<string, Promise<CheckResult>>();
  return (spec, s) => {
    const key = `${spec.phase}|${repositoryKey(s.source)}@${s.digest}|${canonicalJson(s.policy)}`;
    let result = seen.get(key);
    if (!result) seen.set(key, (result = spec.check(deps, s.source, s.digest, s.policy)));
    return result;
  };
}

/** One subject checked and judged by its policy's mode (see the table above). */
export async function judge<P extends { mode: string }>(
  deps: ActivityDeps,
  spec: VerificationSpec<P>,
  s: Subject<P>,
  check: Checker = sharedChecks(deps),
): Promise<Judgement> {
  let result: CheckResult;
  try {
    result = await check(spec, s);
  } catch (err) {
    result = { status: 'failed', reason: `could not verify: ${(err as Error).message}` };
  }
  const mode = s.policy.mode as Mode;
  const problem =
    result.status === 'failed'
      ? result.reason
      : result.status === 'missing'
        ? `no ${spec.phase === 'provenance' ? 'provenance' : 'signature'} found`
        : undefined;
  if (!problem || mode === 'off' || (mode === 'if-present' && result.status === 'missing')) return { result, blocks: false };
  const failure: Failure = {
    edge: `${repositoryKey(s.source)}@${s.digest}`,
    phase: spec.phase,
    code: result.status === 'missing' ? 'MISSING' : 'VERIFICATION_FAILED',
    error: `${s.project}: ${problem}`,
  };
  return { result, failure, blocks: mode !== 'warn' };
}

/**
 * The source digests this run's Provenance and Validate blocked: Sign signs none of them anywhere.
 * Read checked against the hashes the workflow holds; a run that began before it held them names
 * no hashes, and its results are found by key.
 */
export async function blockedInRun(deps: ActivityDeps, workflowId: string, runId: string, verification?: StoredRef[]): Promise<Set<string>> {
  return deps.documents.blockedDigests(verification ?? [phaseResultKey(workflowId, runId, 'provenance'), phaseResultKey(workflowId, runId, 'validate')]);
}

/** Provenance's and Validate's results as the workflow hands them on: with their hashes where the summaries carry them. */
export function verificationRefs(...summaries: (VerificationSummary | undefined)[]): ResultRef[] {
  return summaries.flatMap((v): ResultRef[] => (!v ? [] : v.resultSha256 ? [{ key: v.resultKey, sha256: v.resultSha256 }] : [v.resultKey]));
}

/**
 * Each (project, source repository, digest) the bundle names, with that project's policy: a digest
 * several projects list is judged once per project (the check itself is shared, see sharedChecks).
 */
function subjectsOf<P>(bundle: ManifestBundle, policyOf: (p: Project) => P): Subject<P>[] {
  const out: Subject<P>[] = [];
  for (const p of bundle.projects) {
    const policy = policyOf(p);
    for (const img of p.images) {
      const source = repoFor(p.source, img.name);
      for (const digest of Object.keys(img.dmap)) out.push({ source, digest, policy, project: p.name });
    }
  }
  return out;
}
