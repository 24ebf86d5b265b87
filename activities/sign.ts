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
import { attachSignature, copySignatures, findSignatures, referrersFallbackTag, signatureTag, type FoundSignatures, type SigningKey } from '../lib/signing';
import { phaseResultKey, tagRecordKey } from '../lib/run/keys';
import { mergeTagRecord, signedMark, type TagRecord } from '../lib/run/tag-record';
import { mapPool } from '../lib/util/pool';
import { repoKey } from '../lib/run/plan';
import type { AfterPromoteArgs, Failure, RepoRef, SignSummary } from '../lib/run/types';
import type { PromoterConfig } from '../lib/config';
import { runIds, type ActivityDeps } from './context';
import { childDigests, forEachImage, type ImageOutcome } from './image-work';
import { imagesInPlace, type InPlaceImage } from './in-place';
import { loadPlan } from './load';
import { loadWorkerSigningKey } from './trust';

export function createSign(deps: ActivityDeps) {
  return async function sign(args: AfterPromoteArgs): Promise<SignSummary> {
    const { workflowId, runId } = runIds();
    const key = await loadWorkerSigningKey(deps);
    const plan = await loadPlan(deps, args.plan);
    const mark = signedMark(deps.config.signing.format, key.keyHint);
    const known = { listed: new Map(Object.entries(plan.signatureTags ?? {}).map(([repo, tags]) => [repo, new Set(tags)])), signed: plan.signedByPromoter ?? {} };
    const images = await imagesInPlace(deps, args);
    const apiHosts = await referrersApiHosts(deps, images);
    const { counts, failures, signed } = await forEachImage(images, async (img) =>
      !img.destinations.some((d) => d.promotedNow) && signedByUsEverywhere(img, { ...known, apiHosts }, deps.config.signing.format, mark)
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

/** Destination hosts that serve the referrers API (one probe per host and worker; none for legacy-only signing). */
async function referrersApiHosts(deps: ActivityDeps, images: InPlaceImage[]): Promise<Set<string>> {
  const hosts = new Map<string, string>();
  if (deps.config.signing.format !== 'legacy') {
    for (const img of images) for (const d of img.destinations) if (!hosts.has(d.ref.host)) hosts.set(d.ref.host, d.ref.repository);
  }
  const withApi = new Set<string>();
  await mapPool([...hosts], 8, async ([host, repository]) => {
    if (await deps.registry.client.hasReferrersApi(host, repository)) withApi.add(host);
  });
  return withApi;
}

/**
 * At every destination the promoter itself signed or verified this digest with this key and
 * format (its record), and the Plan still listed the signature tags there (nobody deleted them).
 * A registry with the referrers API has no fallback tag to list: there the record answers for the
 * bundle referrer (the `.sig` tag is still required when signing legacy signatures too).
 */
function signedByUsEverywhere(
  img: InPlaceImage,
  known: { listed: Map<string, Set<string>>; signed: Record<string, Record<string, string>>; apiHosts: Set<string> },
  format: PromoterConfig['signing']['format'],
  mark: string,
): boolean {
  return img.destinations.every((d) => {
    const repo = repoKey(d.ref);
    const required = [
      ...(format === 'bundle' ? [] : [signatureTag(img.digest)]),
      ...(format === 'legacy' || known.apiHosts.has(d.ref.host) ? [] : [referrersFallbackTag(img.digest)]),
    ];
    return known.signed[repo]?.[img.digest] === mark && required.every((t) => known.listed.get(repo)?.has(t));
  });
}

/** Note in each repository's tag record which digests now carry the worker's signature. */
export async function recordSigned(deps: ActivityDeps, signed: { repo: RepoRef; digest: string }[], mark: string): Promise<void> {
  const byRepo = new Map<string, { ref: RepoRef; signed: Record<string, string> }>();
  for (const s of signed) {
    const entry = byRepo.get(repoKey(s.repo)) ?? { ref: s.repo, signed: {} };
    entry.signed[s.digest] = mark;
    byRepo.set(repoKey(s.repo), entry);
  }
  await mapPool([...byRepo.values()], 8, async ({ ref, signed: update }) => {
    const key = tagRecordKey(ref.host, ref.repository);
    const next = mergeTagRecord(await deps.store.getJsonIfExists<TagRecord>(key), { signed: update });
    if (next) await deps.store.putJson(key, next);
  });
}

/**
 * Signs one image (children, then the index) at its primary destination and copies the signatures
 * to its mirrors. Counts are per image: signed or alreadySigned; mirrored per mirror that needed a copy.
 */
export async function signImage(deps: ActivityDeps, key: SigningKey, img: InPlaceImage): Promise<ImageOutcome> {
  const client = deps.registry.client;
  const [primary, ...mirrors] = img.destinations;
  const counts = { signed: 0, alreadySigned: 0, mirrored: 0, manifestsSigned: 0 };
  const failures: Failure[] = [];
  if (!primary) return { counts, failures };
  const fail = (where: { host: string; repository: string }, digest: string, err: unknown): void => {
    failures.push({ edge: `${where.host}/${where.repository}@${digest}`, phase: 'sign', code: (err as { code?: string }).code ?? 'SIGN_FAILED', error: (err as Error).message });
  };
  let digests: string[];
  try {
    digests = [...(await childDigests(client, { ...primary.ref, digest: img.digest })), img.digest];
  } catch (err) {
    fail(primary.ref, img.digest, err);
    return { counts, failures };
  }
  for (const digest of digests) {
    try {
      const r = await attachSignature(client, { ...primary.ref, digest }, key, { format: deps.config.signing.format });
      if (r.legacy?.changed || r.bundle?.changed) counts.manifestsSigned++;
    } catch (err) {
      fail(primary.ref, digest, err);
      return { counts, failures }; // the index stays unsigned, so a rerun comes back to it; spread nothing
    }
  }
  if (counts.manifestsSigned > 0) counts.signed = 1;
  else counts.alreadySigned = 1;
  // What the primary holds is read once per digest, then copied to all mirrors at once.
  const found = new Map<string, FoundSignatures>();
  for (const digest of digests) {
    try {
      found.set(digest, await findSignatures(client, { ...primary.ref, digest }));
    } catch (err) {
      fail(primary.ref, digest, err);
      return { counts, failures };
    }
  }
  const copiedTo = await Promise.all(
    mirrors.map(async (m) => {
      let copied = false;
      for (const digest of digests) {
        try {
          const c = await copySignatures(client, { ...primary.ref, digest }, m.ref, found.get(digest));
          copied ||= c.signature === 'copied' || c.referrers.copied > 0;
          for (const e of c.errors) fail(m.ref, digest, new Error(e));
          if (c.errors.length > 0) return { copied, complete: false };
        } catch (err) {
          fail(m.ref, digest, err);
          return { copied, complete: false }; // the index's signature is not copied without its children's
        }
      }
      return { copied, complete: true };
    }),
  );
  counts.mirrored = copiedTo.filter((c) => c.copied).length;
  const signedAt = [primary.ref, ...mirrors.filter((_, i) => copiedTo[i]!.complete).map((m) => m.ref)];
  return { counts, failures, signedAt };
}
