/**
 * The nightly signature re-mirroring (SignatureMirrorWorkflow). For every digest of the last
 * confirmed promotion's manifests that is in place: sign it on its primary destination when it
 * has no signature by the worker's key (kpromo#1946: signing that failed once was never
 * repaired), and copy signatures that are missing or different to every mirror.
 */
import type { ManifestBundle } from '../lib/manifests';
import type { MirrorInput, MirrorReport } from '../lib/run/mirror-types';
import { LATEST_BUNDLE_KEY, mirrorReportKey } from '../lib/run/storage-keys';
import { repoFor } from '../lib/run/plan';
import type { Failure } from '../lib/run/types';
import { signatureTag } from '../lib/signing';
import { mapPool } from '../lib/util/pool';
import { runIds, type ActivityDeps } from './context';
import { forEachImage } from './image-work';
import type { InPlaceImage } from './in-place';
import { recordSigned, signImage } from './sign-image';
import { signedMark } from '../lib/run/tag-record';

export function createMirror(deps: ActivityDeps) {
  return async function mirrorSignatures(input: MirrorInput): Promise<MirrorReport> {
    const { workflowId, runId } = runIds();
    const reportKey = mirrorReportKey(workflowId, runId);
    const bundleKey = input.bundleKey ?? (await deps.store.getJsonIfExists<{ bundleKey: string }>(LATEST_BUNDLE_KEY))?.bundleKey;
    const empty = { bundleKey: bundleKey ?? '', digests: 0, signedNow: 0, mirrored: 0, alreadyInSync: 0, failures: [] as Failure[], reportKey };
    if (!bundleKey) {
      const report: MirrorReport = { status: input.confirm ? 'succeeded' : 'dry-run', ...empty };
      await deps.store.putJson(reportKey, report);
      return report;
    }
    const bundle = await deps.store.getJson<ManifestBundle>(bundleKey);
    const images = await imagesPresent(deps, bundle);

    let counts: Record<string, number>;
    let failures: Failure[];
    if (input.confirm) {
      const key = await deps.trust.workerSigningKey();
      let signed;
      ({ counts, failures, signed } = await forEachImage(images, async (img) => {
        const o = await signImage(deps, key, img);
        return { ...o, counts: { ...o.counts, inSync: (o.counts.signed ?? 0) + (o.counts.mirrored ?? 0) === 0 && o.failures.length === 0 ? 1 : 0 } };
      }));
      await recordSigned(deps, signed, signedMark(deps.config.signing.format, key.keyHint));
    } else {
      ({ counts, failures } = await forEachImage(images, (img) => compareSignatures(deps, img)));
    }
    const report: MirrorReport = {
      status: failures.length > 0 ? 'failed' : input.confirm ? 'succeeded' : 'dry-run',
      bundleKey,
      digests: images.length,
      signedNow: counts.signed ?? 0,
      mirrored: counts.mirrored ?? 0,
      alreadyInSync: counts.inSync ?? 0,
      failures: failures.map((f) => ({ edge: f.edge, error: `${f.code}: ${f.error}` })),
      reportKey,
    };
    await deps.store.putJson(reportKey, report);
    deps.log.info({ workflowId, ...report, failures: failures.length }, 'signature mirroring done');
    return report;
  };
}

/** Each image digest of the bundle with the destinations that hold it (HEAD by digest). */
async function imagesPresent(deps: ActivityDeps, bundle: ManifestBundle): Promise<InPlaceImage[]> {
  const candidates: InPlaceImage[] = [];
  for (const p of bundle.projects) {
    for (const img of p.images) {
      for (const digest of Object.keys(img.dmap)) {
        candidates.push({
          project: p.name,
          image: img.name,
          digest,
          source: repoFor(p.source, img.name),
          destinations: p.destinations.map((d, index) => ({ ref: repoFor(d, img.name), index, tags: img.dmap[digest] ?? [], promotedNow: false })),
        });
      }
    }
  }
  await mapPool(candidates, 16, async (c) => {
    const present = await mapPool(c.destinations, 4, async (d) => (await deps.registry.manifestDigest(d.ref, c.digest)) === c.digest);
    c.destinations = c.destinations.filter((_, i) => present[i]);
  });
  return candidates.filter((c) => c.destinations.length > 0);
}

/** Report-only: which mirrors lack the primary's signature manifest (or hold a different one). */
async function compareSignatures(deps: ActivityDeps, img: InPlaceImage) {
  const [primary, ...mirrors] = img.destinations;
  const tag = signatureTag(img.digest);
  const failures: Failure[] = [];
  const want = primary ? await deps.registry.manifestDigest(primary.ref, tag) : undefined;
  let missing = 0;
  if (!want && primary) failures.push({ edge: `${primary.ref.host}/${primary.ref.repository}@${img.digest}`, phase: 'sign', code: 'UNSIGNED', error: 'no signature on the primary destination' });
  for (const m of mirrors) {
    if (want && (await deps.registry.manifestDigest(m.ref, tag)) !== want) {
      missing++;
      failures.push({ edge: `${m.ref.host}/${m.ref.repository}@${img.digest}`, phase: 'sign', code: 'SIGNATURE_OUT_OF_SYNC', error: 'signature missing or different on this mirror' });
    }
  }
  return { counts: { inSync: failures.length === 0 ? 1 : 0, mirrored: 0, signed: 0, outOfSync: missing }, failures };
}
