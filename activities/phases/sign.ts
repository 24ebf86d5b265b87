/**
 * Sign: every image digest in place gets the worker's signatures (its key, or its keyless
 * identity) at every destination that lacks them, in the formats configured. Each image is signed
 * once (../shared/sign-image.ts: signed, archived, then written to the primary and the mirrors alike),
 * so a rerun adds nothing twice and repairs what an earlier run promoted but never signed.
 *
 * What a destination lacks comes from the Plan: its tags/list (signature tags present) and the
 * tag record (which digests the promoter signed there). A destination this run promoted to always
 * gets them. No request goes to a registry for an image already signed everywhere. A digest this
 * run's Provenance or Validate blocked is signed nowhere, wherever somebody else put it.
 */
import { repositoryKey } from '../../lib/oci/reference';
import { shardedName } from '../../lib/run/shard';
import { phaseResultKey } from '../../lib/run/storage-keys';
import type { AfterPromoteArgs } from '../../lib/run/input';
import type { SignSummary } from '../../lib/run/outcomes';
import { runIds, type ActivityDeps } from '../shared/deps';
import { failureOf } from '../shared/failures';
import type { Heartbeat } from '../shared/heartbeat';
import { earlierResult, writeResult } from '../shared/results';
import { forEachImage } from '../shared/image-work';
import { imagesInPlace } from '../shared/in-place';
import { planKnowledge, signedThere } from '../shared/repo-knowledge';
import { recordSigned, signaturesFor, writeSignatures } from '../shared/sign-image';
import { blockedInRun } from '../shared/verification';
import type { InPlaceImage } from '../shared/images';
import type { Failure } from '../../lib/run/outcomes';

export function createSign(deps: ActivityDeps) {
  return async function sign(hb: Heartbeat, args: AfterPromoteArgs): Promise<SignSummary> {
    const { workflowId, runId } = runIds();
    const resultKey = phaseResultKey(workflowId, runId, shardedName('sign', args.shard));
    const earlier = await earlierResult<SignSummary>(deps, resultKey);
    if (earlier) return earlier;
    const format = deps.config.signing.format;
    const signer = await deps.trust.imageSigner();
    const plan = await deps.documents.plan(args.plan);
    const images = await imagesInPlace(deps, args);
    const knowledge = await planKnowledge(deps, plan, images, format !== 'legacy');
    const blocked = await blockedInRun(deps, workflowId, runId, args.verification);
    const { counts, failures, signed } = await forEachImage(hb, images, async (img) => {
      if (blocked.has(img.digest)) return { counts: {}, failures: [notSigned(img)] };
      const targets = img.destinations.flatMap((d, i) => (d.promotedNow || !signedThere(knowledge(d.ref), img.digest, signer.mark, format) ? [i] : []));
      if (targets.length === 0) return { counts: { alreadySigned: 1 }, failures: [] };
      let archived;
      try {
        ({ archived } = await signaturesFor(deps, signer, img));
      } catch (err) {
        const primary = img.destinations[0]!.ref;
        return { counts: {}, failures: [failureOf(`${repositoryKey(primary)}@${img.digest}`, 'sign', err, 'SIGN_FAILED')] };
      }
      // Attest follows for an image promoted now: it writes the image's fallback index once, with both entries.
      const deferImageIndex = img.destinations.some((d) => d.promotedNow);
      return writeSignatures(deps, img, archived, targets, { deferImageIndex, phase: 'sign' });
    });
    await recordSigned(deps, signed, signer.mark);
    const summary: SignSummary = {
      signed: counts.signed ?? 0,
      alreadySigned: counts.alreadySigned ?? 0,
      mirrored: counts.mirrored ?? 0,
      manifestsSigned: counts.manifestsSigned ?? 0,
      resultKey,
      failureCount: failures.length,
    };
    deps.log.info({ workflowId, ...(args.shard ? { shard: args.shard } : {}), ...summary }, 'sign done');
    return writeResult(deps, resultKey, { summary, failures });
  };
}

function notSigned(img: InPlaceImage): Failure {
  const primary = img.destinations[0]!.ref;
  return {
    edge: `${repositoryKey(primary)}@${img.digest}`,
    phase: 'sign',
    code: 'BLOCKED',
    error: "not signed: this run's source verification blocked the digest",
  };
}
