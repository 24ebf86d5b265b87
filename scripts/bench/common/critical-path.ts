// The critical-path floor of each phase of a promotion: the longest chain of registry requests that
// must wait for one another, however many may be in flight at once. A phase cannot end sooner than
// that chain times the round trip, so time / floor says how far a phase is from being latency-bound
// only by what the protocol forces.
//
// The chains follow the promoter's design on the benches' registries (distribution 2.8: no
// referrers API, so bundles go into the `sha256-<hex>` fallback index; staging holds no
// signatures or provenance; destinations start empty). Requests that need nothing but what the
// phase knows at its start go out together and count once; a blob's source GET overlaps its
// upload's POST. Pure: recomputed from a step's recorded work.
import { PHASES, type PhaseName } from '../../../lib/run/outcomes';

/** What a promotion had to do, summarized from the workload and the step. */
export interface PromotionWork {
  /** Copy tasks (one digest into one repository with its tags) not yet in place; 0 for a no-op rerun. */
  copyTasks: number;
  /** Whether one of them is an index (children are copied, and signed, before it). */
  anyIndex: boolean;
  /** Most tags one copy task writes. */
  maxTags: number;
  /** `--verify-tags`: Plan HEADs every destination tag. */
  verifyTags?: boolean;
  dryRun?: boolean;
  signatureFormat: 'legacy' | 'bundle' | 'both';
}

export interface PhaseFloor {
  /** The dependent requests, in order: one round trip each. */
  chain: string[];
  roundTrips: number;
  /** roundTrips x the round trip the bench adds (0 on bare loopback). */
  ms: number;
}

const UPLOAD = ['POST blob upload', 'PUT blob (its source GET streamed in)'];

function promoteChain(w: PromotionWork): string[] {
  const tags = w.maxTags > 1 ? ['PUT the other tags'] : [];
  if (w.anyIndex) return ['GET source index', 'GET child manifests', ...UPLOAD, 'PUT child manifests', 'PUT index with its first tag', ...tags];
  return ['GET source manifest', ...UPLOAD, 'PUT manifest with its first tag', ...tags];
}

/**
 * Sign: each signature is a small blob and a manifest (`.sig` and the bundle referrer, side by side);
 * an index's children are signed first, each child's fallback index with them; the image's own
 * fallback index is left to Attest, which writes it once with the attestation.
 */
function signChain(w: PromotionWork): string[] {
  const signature = ['POST signature blob upload', 'PUT signature blob', 'PUT signature manifests'];
  const fallback = w.signatureFormat === 'legacy' ? [] : ['PUT child fallback indexes'];
  const children = w.anyIndex ? [...signature.map((s) => `child: ${s}`), ...fallback] : [];
  return ['GET manifest tree on the primary', ...children, ...signature];
}

const CHAINS: Record<PhaseName, (w: PromotionWork) => string[]> = {
  setup: () => ['GET /v2/ of every registry'],
  plan: (w) => ['GET tags/list of every repository', ...(w.copyTasks > 0 || w.verifyTags ? ['HEAD source digests (and tags not known)'] : [])],
  provenance: (w) => (w.copyTasks > 0 ? ['look up provenance of every source digest'] : []),
  validate: (w) => (w.copyTasks > 0 ? ['look up signatures of every source digest'] : []),
  promote: (w) => (w.copyTasks > 0 && !w.dryRun ? promoteChain(w) : []),
  sign: (w) => (w.copyTasks > 0 && !w.dryRun ? signChain(w) : []),
  attest: (w) => (w.copyTasks > 0 && !w.dryRun ? ['POST statement blob upload', 'PUT statement blob', 'PUT attestation manifest', 'PUT fallback index'] : []),
};

export function phaseFloor(w: PromotionWork, phase: PhaseName, rttMs: number): PhaseFloor {
  const chain = CHAINS[phase](w);
  return { chain, roundTrips: chain.length, ms: chain.length * rttMs };
}

export function promotionFloors(w: PromotionWork, rttMs: number): Record<PhaseName, PhaseFloor> {
  return Object.fromEntries(PHASES.map((p) => [p, phaseFloor(w, p, rttMs)])) as Record<PhaseName, PhaseFloor>;
}
