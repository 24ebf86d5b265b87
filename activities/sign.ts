/**
 * Sign: sign each image digest in place once (each child manifest, then the index) on its primary
 * destination, then copy the signatures byte for byte to every mirror. Idempotent: a digest that
 * already carries a valid signature by the worker's key is not signed again, so a rerun adds
 * nothing twice and repairs what an earlier run promoted but never signed.
 *
 * Children go first and an index is signed (and copied) only after all its children: so an
 * index's signature tag at a destination means its children's are there too, and an image whose
 * signature tags the Plan saw listed at every destination needs no request at all here. The
 * nightly re-mirroring does the full cryptographic check instead.
 */
import { referrersFallbackTag, signatureTag } from '../lib/signing';
import { phaseResultKey } from '../lib/run/storage-keys';
import { signedMark } from '../lib/run/tag-record';
import { repositoryKey } from '../lib/run/plan';
import type { AfterPromoteArgs, SignSummary } from '../lib/run/types';
import type { PromoterConfig } from '../lib/config';
import { runIds, type ActivityDeps } from './context';
import { forEachImage } from './image-work';
import { imagesInPlace, type InPlaceImage } from './in-place';
import { recordSigned, signImage } from './sign-image';

export function createSign(deps: ActivityDeps) {
  return async function sign(args: AfterPromoteArgs): Promise<SignSummary> {
    const { workflowId, runId } = runIds();
    const key = await deps.trust.workerSigningKey();
    const plan = await deps.documents.plan(args.plan);
    const mark = signedMark(deps.config.signing.format, key.keyHint);
    const known = { listed: new Map(Object.entries(plan.signatureTags ?? {}).map(([repo, tags]) => [repo, new Set(tags)])), signed: plan.signedByPromoter ?? {} };
    const images = await imagesInPlace(deps, args);
    const { counts, failures, signed } = await forEachImage(images, async (img) =>
      !img.destinations.some((d) => d.promotedNow) && signedByUsEverywhere(img, known, deps.config.signing.format, mark)
        ? { counts: { alreadySigned: 1 }, failures: [] }
        : signImage(deps, key, img),
    );
    await recordSigned(deps, signed, mark);
    const summary: SignSummary = {
      signed: counts.signed ?? 0,
      alreadySigned: counts.alreadySigned ?? 0,
      mirrored: counts.mirrored ?? 0,
      manifestsSigned: counts.manifestsSigned ?? 0,
      resultKey: phaseResultKey(workflowId, runId, 'sign'),
      failureCount: failures.length,
    };
    await deps.store.putJson(summary.resultKey, { summary, failures });
    deps.log.info({ workflowId, ...summary }, 'sign done');
    return summary;
  };
}

/**
 * At every destination the promoter itself signed or verified this digest with this key and
 * format (its record), and the Plan still listed the signature tags there (nobody deleted them).
 */
function signedByUsEverywhere(
  img: InPlaceImage,
  known: { listed: Map<string, Set<string>>; signed: Record<string, Record<string, string>> },
  format: PromoterConfig['signing']['format'],
  mark: string,
): boolean {
  const required = [
    ...(format === 'bundle' ? [] : [signatureTag(img.digest)]),
    ...(format === 'legacy' ? [] : [referrersFallbackTag(img.digest)]),
  ];
  return img.destinations.every((d) => {
    const repo = repositoryKey(d.ref);
    return known.signed[repo]?.[img.digest] === mark && required.every((t) => known.listed.get(repo)?.has(t));
  });
}
