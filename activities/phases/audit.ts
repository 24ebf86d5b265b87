/**
 * The audit (AuditWorkflow, AuditEventsWorkflow): nothing reaches production or a mirror that no
 * manifest asked for. Against the manifests of the last confirmed promotion (or given ones) it flags
 * tags no manifest lists (a rogue push), wanted tags that carry another digest (a moved tag) and
 * listed digests in place without the promoter's signature (and, verifying, its promotion attestation).
 *
 * auditRegistries reads every destination repository the way the Plan does (one tags/list, the tag
 * record, a HEAD only where the record does not vouch), so a clean set costs about one request per
 * repository; `verify` HEADs every wanted tag and verifies every signature instead.
 * auditPushes judges the pushes a registry reported: one HEAD per pushed tag, nothing else.
 */
import type { ManifestBundle } from '../../lib/manifests';
import {
  countFindings,
  describeCounts,
  isSignatureTag,
  movedTag,
  movedTags,
  rogueTag,
  unattested,
  unlistedTags,
  unsigned,
  type AuditFinding,
  type AuditInput,
  type AuditPushesInput,
  type AuditPushesResult,
  type AuditReport,
  type WantedRepository,
} from '../../lib/run/audit';
import { inventoryQueries } from '../../lib/run/plan';
import { PROMOTION_PREDICATE_TYPE, verifyBundle } from '../../lib/signing';
import { repositoryKey } from '../../lib/oci/reference';
import { auditEventsReportKey, auditReportKey, LATEST_BUNDLE_KEY, tagRecordKey } from '../../lib/run/storage-keys';
import type { TagRecord } from '../../lib/run/tag-record';
import { mapPool } from '../../lib/util/pool';
import { runIds, type ActivityDeps } from '../shared/deps';
import { readDestination } from '../shared/destination-inventory';
import type { Heartbeat } from '../shared/heartbeat';
import { referrersApiHostsOf, signedThere } from '../shared/repo-knowledge';
import { writeOnce } from '../shared/write-once';

/** Repositories read at once; the registry client's per-host budget applies beneath this. */
const REPO_CONCURRENCY = 32;

const byPlace = (a: AuditFinding, b: AuditFinding): number => {
  const ka = `${a.repository}|${a.tag ?? ''}|${a.digest ?? ''}|${a.kind}`;
  const kb = `${b.repository}|${b.tag ?? ''}|${b.digest ?? ''}|${b.kind}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

async function latestBundle(deps: ActivityDeps, bundleKey: string | undefined): Promise<{ key: string; bundle: ManifestBundle } | undefined> {
  const key = bundleKey ?? (await deps.store.getJsonIfExists<{ bundleKey: string }>(LATEST_BUNDLE_KEY))?.bundleKey;
  return key ? { key, bundle: await deps.store.getJson<ManifestBundle>(key) } : undefined;
}

export function createAudit(deps: ActivityDeps) {
  async function auditRegistries(hb: Heartbeat, input: AuditInput): Promise<AuditReport> {
    const { workflowId, runId } = runIds();
    const reportKey = auditReportKey(workflowId, runId);
    // A retry after an attempt that wrote its report returns that one.
    const earlier = await deps.store.getJsonIfExists<AuditReport>(reportKey);
    if (earlier) return earlier;
    const startedAt = new Date().toISOString();
    const requestsBefore = deps.requestsSent();
    const verify = !!input.verify;
    const found = await latestBundle(deps, input.bundleKey);
    const wanted = found ? [...inventoryQueries(found.bundle.projects).destinations.values()] : [];

    const format = deps.config.signing.format;
    const signer = await deps.trust.imageSigner();
    const ownTrust = verify ? await deps.trust.ownTrust() : undefined;
    const apiHosts =
      format === 'legacy' || verify
        ? new Set<string>()
        : await referrersApiHostsOf(
            deps,
            wanted.map((w) => w.ref),
          );
    const findings: AuditFinding[] = [];
    let digests = 0;
    let tagsListed = 0;
    let done = 0;

    await mapPool(wanted, REPO_CONCURRENCY, async (want) => {
      const repo = repositoryKey(want.ref);
      const { answer, listed, record } = await readDestination(deps, want, verify);
      tagsListed += listed.length;
      findings.push(...movedTags(want, repo, new Map(answer.tags)));
      findings.push(...(await rogueTags(want, repo, listed, record)));

      // The listed digests in place here: a wanted tag carrying it, or (tagless) found by the inventory.
      const inPlace = new Set([...answer.tags.filter(([t, d]) => want.tags.get(t) === d).map(([, d]) => d), ...answer.digests]);
      digests += inPlace.size;
      const knowledge = { listed: new Set(listed), signed: record?.signed ?? {}, api: apiHosts.has(want.ref.host) };
      await mapPool([...inPlace], 4, async (digest) => {
        if (!ownTrust) {
          if (!signedThere(knowledge, digest, signer.mark, format))
            findings.push(unsigned(repo, digest, "the promoter's records hold no signature of its key with its signature tags listed"));
          return;
        }
        // Every configured format must carry a valid signature of ours, as the mirror's --verify demands.
        const wantedFormats = format === 'both' ? ['legacy', 'bundle'] : [format];
        const target = { ...want.ref, digest };
        const found = await deps.registry.findSignatures(target);
        const v = await deps.registry.verifySignatures(target, ownTrust, found);
        const missing = wantedFormats.filter((f) => !v.formats.includes(f as 'legacy' | 'bundle'));
        if (missing.length > 0)
          findings.push(
            unsigned(
              repo,
              digest,
              `no valid ${missing.join(' and ')} signature of the promoter${v.errors.length > 0 ? ` (${v.errors.slice(0, 3).join('; ')})` : ''}`,
            ),
          );
        // The promotion attestation, checked as `promoter snapshot --signatures` does.
        const attested = found.bundles.some(
          (b) =>
            b.predicateType === PROMOTION_PREDICATE_TYPE &&
            verifyBundle(b.bundle, { ...ownTrust, expectedDigest: digest, predicateType: PROMOTION_PREDICATE_TYPE }).ok,
        );
        if (!attested) findings.push(unattested(repo, digest));
      });
      if (++done % 50 === 0) hb.beat();
    });

    findings.sort(byPlace);
    const counts = countFindings(findings);
    const report: AuditReport = {
      status: findings.length > 0 ? 'flagged' : 'clean',
      bundleKey: found?.key ?? '',
      verify,
      repositories: wanted.length,
      digests,
      tagsListed,
      counts,
      findings,
      requests: deps.requestsSent() - requestsBefore,
      reportKey,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    const { value, ours } = await writeOnce(deps.store, reportKey, report);
    if (ours) deps.metrics.audited('schedule', counts);
    deps.log.info(
      { workflowId, status: value.status, repositories: value.repositories, counts: value.counts, requests: value.requests },
      `audit done: ${describeCounts(value.counts)}`,
    );
    return value;
  }

  /**
   * Tags no manifest lists here: rogue unless the promoter's record says it placed that tag at the
   * digest it carries now (manifests changed since). One HEAD per such tag, none on a clean set.
   */
  async function rogueTags(want: WantedRepository, repo: string, listed: string[], record: TagRecord | undefined): Promise<AuditFinding[]> {
    const out: AuditFinding[] = [];
    await mapPool(unlistedTags(want, listed), 8, async (tag) => {
      const digest = await deps.registry.manifestDigest(want.ref, tag);
      if (digest && record?.tags[tag] !== digest) out.push(rogueTag(repo, tag, digest));
    });
    return out;
  }

  async function auditPushes(_hb: Heartbeat, input: AuditPushesInput): Promise<AuditPushesResult> {
    const found = await latestBundle(deps, input.bundleKey);
    const wanted = found ? inventoryQueries(found.bundle.projects).destinations : new Map<string, WantedRepository>();
    const records = new Map<string, Promise<TagRecord | undefined>>();
    const recordOf = (want: WantedRepository) => {
      const key = repositoryKey(want.ref);
      if (!records.has(key)) records.set(key, deps.store.getJsonIfExists<TagRecord>(tagRecordKey(want.ref.host, want.ref.repository)));
      return records.get(key)!;
    };
    const findings: AuditFinding[] = [];
    const suspects: AuditPushesInput['events'] = [];
    let ignored = 0;
    // One look per pushed repository:tag (a push sends one event per manifest, an index several).
    const pushes = new Map(input.events.map((e) => [`${e.host}/${e.repository}:${e.tag ?? `@${e.digest}`}`, e]));
    await mapPool([...pushes.values()], 8, async (e) => {
      const want = wanted.get(repositoryKey({ host: e.host, repository: e.repository }));
      // By digest alone (an index's children, signatures, referrers) no tag names it: tags/list
      // cannot show it either; it becomes visible, and judged, when a tag is pushed for it.
      if (!want || !e.tag || isSignatureTag(e.tag)) return void ignored++;
      const repo = repositoryKey(want.ref);
      // The registry says what the tag carries now; the event's own claim is not trusted.
      const digest = await deps.registry.manifestDigest(want.ref, e.tag);
      if (!digest) return void ignored++; // deleted since
      const expected = want.tags.get(e.tag);
      if (expected) {
        if (digest !== expected) findings.push(movedTag(repo, e.tag, digest, expected));
        return;
      }
      if ((await recordOf(want))?.tags[e.tag] === digest) return; // the promoter placed it
      if (input.final) findings.push(rogueTag(repo, e.tag, digest));
      else suspects.push(e);
    });
    findings.sort(byPlace);
    // Counted at the batch's last look, and whenever a look flagged something.
    if (input.final || suspects.length === 0 || findings.length > 0) deps.metrics.audited('events', countFindings(findings));
    if (findings.length === 0) return { findings, suspects, ignored };
    const { workflowId, runId } = runIds();
    const reportKey = auditEventsReportKey(workflowId, runId, input.batch);
    const stands = (
      await writeOnce(deps.store, reportKey, { bundleKey: found?.key ?? '', events: [...pushes.values()], findings, at: new Date().toISOString() })
    ).value;
    deps.log.warn({ findings: stands.findings.length, reportKey }, `audit of pushes: ${describeCounts(countFindings(stands.findings))}`);
    return { findings: stands.findings, suspects, ignored, reportKey };
  }

  return { auditRegistries, auditPushes };
}
