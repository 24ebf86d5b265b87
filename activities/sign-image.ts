/**
 * Signing one image where it is in place, shared by Sign and the nightly re-mirroring: sign its
 * manifests on the primary destination (children, then the index), copy the signatures to the
 * mirrors, and note in each repository's tag record what now carries the worker's signature.
 */
import { tagRecordKey } from '../lib/run/storage-keys';
import { mergeTagRecord, type TagRecord } from '../lib/run/tag-record';
import { repositoryKey } from '../lib/run/plan';
import type { Failure, RepositoryRef } from '../lib/run/types';
import type { FoundSignatures, SigningKey } from '../lib/signing';
import { mapPool } from '../lib/util/pool';
import type { ActivityDeps } from './context';
import type { ImageOutcome } from './image-work';
import type { InPlaceImage } from './in-place';

/**
 * Signs one image (children, then the index) at its primary destination and copies the signatures
 * to its mirrors. Counts are per image: signed or alreadySigned; mirrored per mirror that needed a copy.
 */
export async function signImage(deps: ActivityDeps, key: SigningKey, img: InPlaceImage): Promise<ImageOutcome> {
  const { registry } = deps;
  const [primary, ...mirrors] = img.destinations;
  const counts = { signed: 0, alreadySigned: 0, mirrored: 0, manifestsSigned: 0 };
  const failures: Failure[] = [];
  if (!primary) return { counts, failures };
  const fail = (where: RepositoryRef, digest: string, err: unknown): void => {
    failures.push({ edge: `${where.host}/${where.repository}@${digest}`, phase: 'sign', code: (err as { code?: string }).code ?? 'SIGN_FAILED', error: (err as Error).message });
  };
  let digests: string[];
  try {
    digests = [...(await registry.childDigests({ ...primary.ref, digest: img.digest })), img.digest];
  } catch (err) {
    fail(primary.ref, img.digest, err);
    return { counts, failures };
  }
  for (const digest of digests) {
    try {
      const r = await registry.attachSignature({ ...primary.ref, digest }, key, { format: deps.config.signing.format });
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
      found.set(digest, await registry.findSignatures({ ...primary.ref, digest }));
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
          const c = await registry.copySignatures({ ...primary.ref, digest }, m.ref, found.get(digest));
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

/** Note in each repository's tag record which digests now carry the worker's signature. */
export async function recordSigned(deps: ActivityDeps, signed: { repo: RepositoryRef; digest: string }[], mark: string): Promise<void> {
  const byRepo = new Map<string, { ref: RepositoryRef; signed: Record<string, string> }>();
  for (const s of signed) {
    const entry = byRepo.get(repositoryKey(s.repo)) ?? { ref: s.repo, signed: {} };
    entry.signed[s.digest] = mark;
    byRepo.set(repositoryKey(s.repo), entry);
  }
  await mapPool([...byRepo.values()], 8, async ({ ref, signed: update }) => {
    const key = tagRecordKey(ref.host, ref.repository);
    const next = mergeTagRecord(await deps.store.getJsonIfExists<TagRecord>(key), { signed: update });
    if (next) await deps.store.putJson(key, next);
  });
}
