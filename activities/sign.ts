/**
 * Sign: sign each image digest in place once (an index and each of its child manifests) on its
 * primary destination, then copy the signatures byte for byte to every mirror. Idempotent: a
 * digest that already carries a valid signature by the worker's key is not signed again, so a
 * rerun adds nothing twice and repairs what an earlier run promoted but never signed.
 */
import { attachSignature, copySignatures, type SigningKey } from '../lib/signing';
import { phaseResultKey } from '../lib/run/keys';
import type { AfterPromoteArgs, Failure, SignSummary } from '../lib/run/types';
import { runIds, type ActivityDeps } from './context';
import { childDigests, forEachImage, type ImageOutcome } from './image-work';
import { imagesInPlace, type InPlaceImage } from './in-place';
import { loadWorkerSigningKey } from './trust';

export function createSign(deps: ActivityDeps) {
  return async function sign(args: AfterPromoteArgs): Promise<SignSummary> {
    const { workflowId, runId } = runIds();
    const key = await loadWorkerSigningKey(deps);
    const images = await imagesInPlace(deps, args);
    const { counts, failures } = await forEachImage(images, (img) => signImage(deps, key, img));
    const summary: SignSummary = {
      signed: counts.signed ?? 0,
      alreadySigned: counts.alreadySigned ?? 0,
      mirrored: counts.mirrored ?? 0,
      resultKey: phaseResultKey(workflowId, runId, 'sign'),
      failureCount: failures.length,
    };
    await deps.store.putJson(summary.resultKey, { summary, failures });
    deps.log.info({ workflowId, ...summary }, 'sign done');
    return summary;
  };
}

export async function signImage(deps: ActivityDeps, key: SigningKey, img: InPlaceImage, opts: { write: boolean } = { write: true }): Promise<ImageOutcome> {
  const client = deps.registry.client;
  const [primary, ...mirrors] = img.destinations;
  const counts = { signed: 0, alreadySigned: 0, mirrored: 0 };
  const failures: Failure[] = [];
  if (!primary) return { counts, failures };
  const fail = (where: string, digest: string, err: unknown): void => {
    failures.push({ edge: `${where}@${digest}`, phase: 'sign', code: (err as { code?: string }).code ?? 'SIGN_FAILED', error: (err as Error).message });
  };
  let digests: string[];
  try {
    digests = [img.digest, ...(await childDigests(client, { ...primary.ref, digest: img.digest }))];
  } catch (err) {
    fail(`${primary.ref.host}/${primary.ref.repository}`, img.digest, err);
    return { counts, failures };
  }
  for (const digest of digests) {
    const target = { ...primary.ref, digest };
    try {
      const r = await attachSignature(client, target, key, { format: deps.config.signing.format });
      if (r.legacy?.changed || r.bundle?.changed) counts.signed++;
      else counts.alreadySigned++;
    } catch (err) {
      fail(`${primary.ref.host}/${primary.ref.repository}`, digest, err);
      continue; // never spread what could not be made
    }
    for (const m of mirrors) {
      try {
        const c = await copySignatures(client, target, m.ref);
        if (c.signature === 'copied' || c.referrers.copied > 0) counts.mirrored++;
        for (const e of c.errors) fail(`${m.ref.host}/${m.ref.repository}`, digest, new Error(e));
      } catch (err) {
        fail(`${m.ref.host}/${m.ref.repository}`, digest, err);
      }
    }
  }
  return { counts, failures };
}
