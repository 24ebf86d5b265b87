/**
 * The nightly signature re-mirroring (SignatureMirrorWorkflow). For every digest of the last
 * confirmed promotion's manifests that is in place, at every destination: when the worker's
 * signatures are missing there, write them (from the archive, or signed now when the image was
 * never signed: kpromo#1946, signing that failed once was never repaired).
 *
 * Cheap when in sync: one tags/list per destination repository and the promoter's own records say
 * what is in place and signed; nothing is asked per digest. `verify` also reads and verifies every
 * signature (referrers API, fallback index, `.sig`), which catches one replaced behind the record.
 * An image never signed is signed only once its project's policies pass, as Provenance and
 * Validate would judge it: somebody else may have put it there.
 *
 * Attestations (promotion statements and verification summaries) go back with the signatures they
 * share a fallback index with. Where the signatures are in place but the tag record shows that a
 * destination lacks an attestation another destination of the image holds (Attest failed there),
 * the archived attestations it lacks are written there alone, still without a request per digest
 * for what is in sync.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { ManifestBundle } from '../../lib/manifests';
import type { MirrorInput, MirrorReport } from '../../lib/run/mirror-types';
import { repoFor } from '../../lib/run/plan';
import { repositoryKey, type RepositoryRef } from '../../lib/oci/reference';
import type { ArchivedSignatures } from '../../lib/run/documents';
import { bundleShaOfKey, LATEST_BUNDLE_KEY, mirrorReportKey, signatureArchiveKey, tagRecordKey } from '../../lib/run/storage-keys';
import { attestationId, recordedDigests, type TagRecord } from '../../lib/run/tag-record';
import type { Failure } from '../../lib/run/outcomes';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from '../shared/deps';
import { failureOf } from '../shared/failures';
import type { Heartbeat } from '../shared/heartbeat';
import { forEachImage, type ImageOutcome } from '../shared/image-work';
import type { InPlaceImage } from '../shared/images';
import { referrersApiHosts, signedThere, type RepoKnowledge } from '../shared/repo-knowledge';
import { archivedAttestations, imageSubject, recordSigned, signaturesFor, writeSignatures } from '../shared/sign-image';
import { updateTagRecords } from '../shared/tag-records';
import { policyFailures, type Naming } from '../shared/source-checks';
import { sharedChecks } from '../shared/verification';
import { writeOnce } from '../shared/write-once';
import { loadBundleByKey } from '../shared/documents';
import type { LatestBundlePointer } from '../shared/latest-bundle';

/** Repositories read at once; the registry client's per-host budget applies beneath this. */
const REPO_CONCURRENCY = 32;

interface Destination {
  listed: Set<string>;
  record: TagRecord | undefined;
  /** Tagless digests the record vouches for. */
  tagless: ReadonlySet<string>;
}

export function createMirror(deps: ActivityDeps) {
  return async function mirrorSignatures(hb: Heartbeat, input: MirrorInput): Promise<MirrorReport> {
    const { workflowId, runId } = runIds();
    const reportKey = mirrorReportKey(workflowId, runId);
    const latest = input.bundleKey ? undefined : await deps.store.getJsonIfExists<Partial<LatestBundlePointer>>(LATEST_BUNDLE_KEY);
    const bundleKey = input.bundleKey ?? latest?.bundleKey;
    const finish = async (report: MirrorReport): Promise<MirrorReport> => {
      // A retry after an attempt that wrote its report (and died before Temporal heard) returns that one.
      const stands = (await writeOnce(deps.store, reportKey, report)).value;
      deps.log.info({ workflowId, ...stands, failures: stands.failures.length }, 'signature mirroring done');
      return stands;
    };
    if (!bundleKey)
      return finish({
        status: input.confirm ? 'succeeded' : 'dry-run',
        bundleKey: '',
        digests: 0,
        signedNow: 0,
        mirrored: 0,
        alreadyInSync: 0,
        attestationsRepaired: 0,
        failures: [],
        reportKey,
      });

    const format = deps.config.signing.format;
    const signer = await deps.trust.imageSigner();
    // The pointer names the bundle's hash too: its key must be that bundle's content address.
    if (latest?.bundleSha256 && bundleShaOfKey(bundleKey) !== latest.bundleSha256) {
      throw ApplicationFailure.nonRetryable(
        `${LATEST_BUNDLE_KEY} names ${bundleKey} with sha256 ${latest.bundleSha256}, which it does not have`,
        'InvalidInput',
      );
    }
    // By its content address, checked as a run's bundle is (its identity hash, the CLI's schema and rules).
    const bundle = await loadBundleByKey(deps.store, bundleKey);
    const candidates = imagesOf(bundle);
    const naming = namingProjects(bundle);
    const check = sharedChecks(deps);
    const destinations = await readDestinations(deps, hb, candidates);
    const images = await inPlace(deps, candidates, destinations);
    const apiHosts = format === 'legacy' ? new Set<string>() : await referrersApiHosts(deps, images);
    const knowledge = (repo: RepositoryRef): RepoKnowledge => {
      const d = destinations.get(repositoryKey(repo))!;
      return { listed: d.listed, signed: d.record?.signed ?? {}, api: apiHosts.has(repo.host) };
    };
    const ownTrust = input.verify ? await deps.trust.ownTrust() : undefined;
    const attested: { repo: RepositoryRef; digest: string; ids: string[] }[] = [];

    const { counts, failures, signed } = await forEachImage(hb, images, async (img): Promise<ImageOutcome> => {
      let targets = img.destinations.flatMap((d, i) => (signedThere(knowledge(d.ref), img.digest, signer.mark, format) ? [] : [i]));
      if (ownTrust) {
        // Every configured format must carry a valid signature of ours: one alone does not do.
        const wanted = format === 'both' ? ['legacy', 'bundle'] : [format];
        const invalid = await mapPool(img.destinations, 4, async (d) => {
          const v = await deps.registry.verifySignatures({ ...d.ref, digest: img.digest }, ownTrust);
          return !wanted.every((f) => v.formats.includes(f as 'legacy' | 'bundle'));
        });
        targets = img.destinations.flatMap((_, i) => (targets.includes(i) || invalid[i] ? [i] : []));
      }
      const lacking = lackingAttestations(img, destinations).filter((i) => !targets.includes(i));
      if (targets.length === 0 && lacking.length === 0) return { counts: { inSync: 1 }, failures: [] };
      if (!input.confirm) {
        const missing = [
          ...targets.map((i) => outOfSync(img, img.destinations[i]!.ref, i === 0)),
          ...lacking.map((i) => attestationOutOfSync(img, img.destinations[i]!.ref)),
        ];
        return { counts: { outOfSync: 1 }, failures: missing };
      }
      if (targets.length === 0) {
        try {
          return await repairAttestations(deps, img, lacking, destinations, signer.mark, attested);
        } catch (err) {
          return { counts: {}, failures: [failureOf(`${repositoryKey(img.destinations[0]!.ref)}@${img.digest}`, 'attest', err, 'ATTEST_FAILED')] };
        }
      }
      try {
        if (!(await deps.store.getJsonIfExists(signatureArchiveKey(img.digest, signer.mark)))) {
          const refused = await policyFailures(deps, naming.get(img.digest) ?? [], img.digest, check);
          if (refused.length > 0) return { counts: {}, failures: [blockedByPolicy(img, refused)] };
        }
        const { archived, fresh } = await signaturesFor(deps, signer, img);
        // The promotion attestations go back with the signatures: they share the fallback index.
        const imageAttestations = await archivedAttestations(deps, img.image, img.digest);
        const o = await writeSignatures(deps, img, archived, targets, { deferImageIndex: false, phase: 'mirror', imageAttestations });
        const ids = imageAttestations.map((a) => attestationId(a.key));
        if (ids.length > 0) for (const i of o.signedAt ?? []) attested.push({ repo: img.destinations[i]!.ref, digest: img.digest, ids });
        // A destination whose signatures were in place but an attestation was not gets those alone.
        const repaired = lacking.length > 0 ? await repairAttestations(deps, img, lacking, destinations, signer.mark, attested) : undefined;
        return {
          ...o,
          failures: [...o.failures, ...(repaired?.failures ?? [])],
          counts: { signedNow: fresh ? 1 : 0, mirrored: o.signedAt?.length ?? 0, attestationsRepaired: repaired?.counts.attestationsRepaired ?? 0 },
        };
      } catch (err) {
        return { counts: {}, failures: [failureOf(`${repositoryKey(img.destinations[0]!.ref)}@${img.digest}`, 'sign', err, 'SIGN_FAILED')] };
      }
    });
    if (input.confirm) {
      await recordSigned(deps, signed, signer.mark);
      await updateTagRecords(
        deps.store,
        attested.map((a) => ({ ref: a.repo, attested: { [a.digest]: a.ids } })),
      );
    }
    return finish({
      // A report-only run that finds something out of sync fails too, so it can alert.
      status: failures.length > 0 ? 'failed' : input.confirm ? 'succeeded' : 'dry-run',
      bundleKey,
      digests: images.length,
      signedNow: counts.signedNow ?? 0,
      mirrored: counts.mirrored ?? 0,
      alreadyInSync: counts.inSync ?? 0,
      attestationsRepaired: counts.attestationsRepaired ?? 0,
      failures: failures.map((f) => ({ edge: f.edge, error: `${f.code}: ${f.error}` })),
      reportKey,
    });
  };
}

function blockedByPolicy(img: InPlaceImage, refused: Failure[]): Failure {
  const edge = `${repositoryKey(img.destinations[0]!.ref)}@${img.digest}`;
  return { edge, phase: 'sign', code: 'BLOCKED', error: `not signed: ${refused.map((f) => `${f.code} ${f.error}`).join('; ')}` };
}

/**
 * Destinations (indices) whose tag record lacks an attestation of the image that another of its
 * destinations records: Attest wrote it there and failed here. Images attested before the records
 * noted attestations have none recorded anywhere, and count as in sync.
 */
function lackingAttestations(img: InPlaceImage, destinations: Map<string, Destination>): number[] {
  const held = img.destinations.map((d) => new Set(destinations.get(repositoryKey(d.ref))!.record?.attested?.[img.digest] ?? []));
  const all = new Set(held.flatMap((h) => [...h]));
  return img.destinations.flatMap((_, i) => ([...all].some((id) => !held[i]!.has(id)) ? [i] : []));
}

/** Writes the archived attestations each of `lacking` does not record (their signatures are in place there). */
async function repairAttestations(
  deps: ActivityDeps,
  img: InPlaceImage,
  lacking: number[],
  destinations: Map<string, Destination>,
  mark: string,
  attested: { repo: RepositoryRef; digest: string; ids: string[] }[],
): Promise<ImageOutcome> {
  const archived = await archivedAttestations(deps, img.image, img.digest);
  const signatures = await deps.store.getJsonIfExists<ArchivedSignatures>(signatureArchiveKey(img.digest, mark));
  const subject = signatures ? imageSubject(signatures) : (await deps.registry.manifestTree({ ...img.destinations[0]!.ref, digest: img.digest })).image;
  const failures: Failure[] = [];
  let repaired = 0;
  await mapPool(lacking, lacking.length, async (i) => {
    const ref = img.destinations[i]!.ref;
    const held = new Set(destinations.get(repositoryKey(ref))!.record?.attested?.[img.digest] ?? []);
    const missing = archived.filter((a) => !held.has(attestationId(a.key)));
    if (missing.length === 0) return;
    try {
      await deps.registry.writeSignatures(ref, { subject, attestations: missing });
      attested.push({ repo: ref, digest: img.digest, ids: missing.map((a) => attestationId(a.key)) });
      repaired++;
    } catch (err) {
      failures.push(failureOf(`${repositoryKey(ref)}@${img.digest}`, 'attest', err, 'ATTEST_FAILED'));
    }
  });
  return { counts: { attestationsRepaired: repaired }, failures };
}

function attestationOutOfSync(img: InPlaceImage, repo: RepositoryRef): Failure {
  return {
    edge: `${repositoryKey(repo)}@${img.digest}`,
    phase: 'attest',
    code: 'ATTESTATION_OUT_OF_SYNC',
    error: "the promoter's attestations are missing here (another destination of the image holds them)",
  };
}

function outOfSync(img: InPlaceImage, repo: RepositoryRef, primary: boolean): Failure {
  const edge = `${repositoryKey(repo)}@${img.digest}`;
  return primary
    ? { edge, phase: 'sign', code: 'UNSIGNED', error: "the promoter's signature is missing at the primary destination" }
    : { edge, phase: 'sign', code: 'SIGNATURE_OUT_OF_SYNC', error: "the promoter's signature is missing on this mirror" };
}

/**
 * Every project that lists each digest, with the source it lists it from: a signature is per
 * digest, so all their policies decide whether an image never signed may be signed now.
 */
function namingProjects(bundle: ManifestBundle): Map<string, Naming[]> {
  const out = new Map<string, Naming[]>();
  for (const project of bundle.projects) {
    for (const img of project.images) {
      const source = repoFor(project.source, img.name);
      for (const digest of Object.keys(img.dmap)) {
        let list = out.get(digest);
        if (!list) out.set(digest, (list = []));
        list.push({ project, source });
      }
    }
  }
  return out;
}

/** Every image digest of the bundle with all its destinations (the first is the primary). */
function imagesOf(bundle: ManifestBundle): InPlaceImage[] {
  const out: InPlaceImage[] = [];
  for (const p of bundle.projects) {
    for (const img of p.images) {
      for (const [digest, tags] of Object.entries(img.dmap)) {
        out.push({
          project: p.name,
          image: img.name,
          digest,
          source: repoFor(p.source, img.name),
          destinations: p.destinations.map((d, index) => ({ ref: repoFor(d, img.name), index, tags, promotedNow: false })),
        });
      }
    }
  }
  return out;
}

/** One tags/list per destination repository (and the tag record the promoter keeps for it). */
async function readDestinations(deps: ActivityDeps, hb: Heartbeat, images: InPlaceImage[]): Promise<Map<string, Destination>> {
  const repos = new Map<string, RepositoryRef>();
  for (const img of images) for (const d of img.destinations) repos.set(repositoryKey(d.ref), d.ref);
  const out = new Map<string, Destination>();
  let done = 0;
  await mapPool([...repos], REPO_CONCURRENCY, async ([key, ref]) => {
    const [listed, record] = await Promise.all([deps.registry.listTags(ref), deps.store.getJsonIfExists<TagRecord>(tagRecordKey(ref.host, ref.repository))]);
    out.set(key, { listed: new Set(listed), record, tagless: recordedDigests(record, listed.length) });
    if (++done % 50 === 0) hb.beat();
  });
  return out;
}

/**
 * The images with only the destinations that hold them. A digest is in place where all its tags
 * are listed and the record says they carry it (the promoter verified or wrote them), or, tagless,
 * where the record notes it; otherwise one HEAD by digest decides.
 */
async function inPlace(deps: ActivityDeps, images: InPlaceImage[], destinations: Map<string, Destination>): Promise<InPlaceImage[]> {
  await mapPool(images, REPO_CONCURRENCY, async (img) => {
    const present = await mapPool(img.destinations, 4, async (d) => {
      const repo = destinations.get(repositoryKey(d.ref))!;
      const tags = d.tags;
      if (tags.length > 0 && tags.every((t) => repo.listed.has(t) && repo.record?.tags[t] === img.digest)) return true;
      if (tags.length === 0 && repo.tagless.has(img.digest)) return true;
      if (tags.length > 0 && !tags.some((t) => repo.listed.has(t))) return false;
      return (await deps.registry.manifestDigest(d.ref, img.digest)) === img.digest;
    });
    img.destinations = img.destinations.filter((_, i) => present[i]);
  });
  return images.filter((img) => img.destinations.length > 0);
}
