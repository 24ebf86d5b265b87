// The critical-path floors the benches print per phase: the chain of requests that must wait for
// one another, times the round trip the bench adds.
import { describe, expect, it } from 'vitest';
import { phaseFloor, promotionFloors, type PromotionWork } from '../../../scripts/bench/common/critical-path';

const work = (o: Partial<PromotionWork> = {}): PromotionWork => ({ copyTasks: 10, anyIndex: false, maxTags: 1, signatureFormat: 'both', ...o });
const trips = (w: PromotionWork) => Object.fromEntries(Object.entries(promotionFloors(w, 50)).map(([p, f]) => [p, f.roundTrips]));

describe('promotionFloors', () => {
  it('single-arch images: source manifest, blob upload (POST, PUT), manifest PUT with its tag', () => {
    expect(trips(work())).toEqual({ setup: 1, plan: 2, provenance: 1, validate: 1, promote: 4, sign: 4, attest: 4 });
    expect(phaseFloor(work(), 'promote', 50)).toEqual({
      chain: ['GET source manifest', 'POST blob upload', 'PUT blob (its source GET streamed in)', 'PUT manifest with its first tag'],
      roundTrips: 4,
      ms: 200,
    });
  });

  it('an index: children first, in Promote and in Sign; a second tag after the first', () => {
    expect(trips(work({ anyIndex: true, maxTags: 3 }))).toMatchObject({ promote: 7, sign: 8 });
    expect(phaseFloor(work({ anyIndex: true }), 'promote', 0).chain.slice(0, 2)).toEqual(['GET source index', 'GET child manifests']);
    // Legacy signatures only: no fallback index for the children.
    expect(phaseFloor(work({ anyIndex: true, signatureFormat: 'legacy' }), 'sign', 0).roundTrips).toBe(7);
  });

  it('nothing to copy: the inventory read alone, one more round with --verify-tags; a dry run stops before Promote', () => {
    expect(trips(work({ copyTasks: 0 }))).toEqual({ setup: 1, plan: 1, provenance: 0, validate: 0, promote: 0, sign: 0, attest: 0 });
    expect(phaseFloor(work({ copyTasks: 0, verifyTags: true }), 'plan', 10)).toMatchObject({ roundTrips: 2, ms: 20 });
    expect(trips(work({ dryRun: true }))).toMatchObject({ plan: 2, validate: 1, promote: 0, sign: 0, attest: 0 });
  });
});
