// From the shape bench's raw records to its figures, ratios and targets. Pure: everything here
// can be recomputed from the JSON the bench writes.
import type { Tally } from './access-log';
import type { ShapeResult } from './run';
import type { StepRecord } from './steps';

const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
const MiB = 2 ** 20;
const COPY_PHASES = ['setup', 'plan', 'provenance', 'validate', 'promote'];

function tallyFigures(t: Tally, edges: number) {
  return {
    requests: t.requests,
    perEdge: round(t.requests / edges, 3),
    byKind: sortDesc(t.byKind),
    byHost: sortDesc(t.byHost),
    byRole: sortDesc(t.byRole),
    byRoleKind: Object.fromEntries(Object.entries(t.byRoleKind).map(([k, v]) => [k, sortDesc(v)])),
    byStatus: t.byStatus,
    throttled429: t.throttled,
    bytesDownloaded: t.bytesDownloaded,
    bytesUploaded: t.bytesUploaded,
    blobUploads: t.blobUploads,
    repositoriesTouched: t.repositories,
    perDigestRequests: t.perDigest,
    /** Most requests one host logged in one second (older records have none). */
    peakPerSecondByHost: sortDesc(t.peakPerSecondByHost ?? {}),
    /** Tag writes: one per edge put in place, by either tool (progress of a step stopped early). */
    tagWrites: t.byKind['manifest PUT by tag'] ?? 0,
  };
}

function sortDesc(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).sort(([, a], [, b]) => b - a));
}

function stepFigures(s: StepRecord, edges: number) {
  return {
    name: s.name,
    wallSeconds: round(s.wallMs / 1000, 1),
    partial: s.partial,
    ...tallyFigures(s.tally, edges),
    phases: s.phases
      ? Object.fromEntries(Object.entries(s.phases).map(([p, r]) => [p, { seconds: round(r.ms / 1000, 2), ...tallyFigures(r.tally, edges) }]))
      : undefined,
    requestsOutsidePhases: s.outsidePhases,
    workerPeakRssMiB: round(s.workerPeakRssBytes / MiB, 1),
    workerCpuSeconds: s.workerCpuSeconds,
    workers: s.workers?.map((w) => ({ pid: w.pid, peakRssMiB: round(w.peakRssBytes / MiB, 1), cpuSeconds: w.cpuSeconds, work: w.work })),
    registryCpuSeconds: s.registryCpuSeconds,
    loadAverage1m: { start: s.load?.[0], end: s.load?.[1] },
    status: s.report?.status ?? s.mirrorReport?.status ?? (s.regsync ? `exit ${s.regsync.exitCode}` : undefined),
    edges: s.report?.edges,
    transfer: s.report?.transfer,
    signatures: s.report?.signatures,
    attestations: s.report?.attestations,
    failures: s.report ? { count: s.report.failureCount, first: s.report.failures.slice(0, 3) } : s.mirrorReport ? { count: s.mirrorReport.failures.length, first: s.mirrorReport.failures.slice(0, 3) } : undefined,
    mirror: s.mirrorReport ? { digests: s.mirrorReport.digests, signedNow: s.mirrorReport.signedNow, mirrored: s.mirrorReport.mirrored, alreadyInSync: s.mirrorReport.alreadyInSync } : undefined,
    histories: s.histories
      ? { workflows: s.histories.workflows.length, maxEvents: s.histories.maxEvents, maxEventsWorkflow: s.histories.maxEventsWorkflow, largestPayloadBytes: s.histories.largestPayloadBytes, largestPayloadWhere: s.histories.largestPayloadWhere, totalBytes: s.histories.totalBytes }
      : undefined,
    planBytes: s.planBytes,
    regsync: s.regsync ? { entries: s.regsync.entries, exitCode: s.regsync.exitCode, errors: s.regsync.errors, firstErrors: s.regsync.firstErrors, cpuSeconds: s.regsync.cpuSeconds } : undefined,
  };
}

export type StepFigures = ReturnType<typeof stepFigures>;

const phaseSum = (s: StepFigures | undefined, phases: string[], f: (p: NonNullable<StepFigures['phases']>[string]) => number): number =>
  phases.reduce((n, p) => n + (s?.phases?.[p] ? f(s.phases[p]!) : 0), 0);

const signaturesWritten = (s: StepFigures | undefined): number | undefined => {
  const puts = s?.phases?.sign?.byKind['manifest PUT by signature tag'];
  return puts ? puts / 2 : undefined;
};

export function shapeFigures(r: ShapeResult) {
  const c = r.workload;
  const steps = Object.fromEntries(r.steps.map((s) => [s.name, stepFigures(s, c.edges)]));
  const promotion = steps.promotion;
  const repositories = c.destinationRepositories + c.sourceRepositories;
  const copySeconds = phaseSum(promotion, COPY_PHASES, (p) => p.seconds);
  const signAttestRequests = phaseSum(promotion, ['sign', 'attest'], (p) => p.requests);
  const signAttestMirrorRequests = phaseSum(promotion, ['sign', 'attest'], (p) => p.byRole.mirror ?? 0);
  const signAttestSeconds = phaseSum(promotion, ['sign', 'attest'], (p) => p.seconds);
  const regsyncCopy = steps['regsync-copy'];
  const regsyncSig = steps['regsync-signatures'];
  const complete = (s: StepFigures | undefined): s is StepFigures => !!s && !s.partial;
  const perRepo = (s: StepFigures | undefined) => (s ? { perRepository: round(s.requests / repositories, 3), perDigestRequests: s.perDigestRequests } : undefined);
  const maxEvents = Math.max(0, ...r.steps.map((s) => s.histories?.maxEvents ?? 0));
  const largestPayload = Math.max(0, ...r.steps.map((s) => s.histories?.largestPayloadBytes ?? 0));
  const wholeCorpus = !!promotion && !r.options.selection.projects?.length && r.options.selection.firstProjects === undefined && (r.options.selection.scale ?? 1) >= 1;

  const comparison = {
    promoterCopySeconds: round(copySeconds, 1),
    promoterWholeRunSeconds: promotion?.wallSeconds,
    regsyncCopySeconds: regsyncCopy?.wallSeconds,
    regsyncCopyOverPromoterCopy: regsyncCopy && copySeconds > 0 ? round(regsyncCopy.wallSeconds / copySeconds) : undefined,
    promoterWholeRunOverRegsyncCopy: regsyncCopy && promotion ? round(promotion.wallSeconds / regsyncCopy.wallSeconds) : undefined,
    /** Edges put in place per second of copying (tag writes / time): comparable when a step stopped early. */
    promoterEdgesPerSecond: promotion?.phases?.promote ? round(promotion.phases.promote.tagWrites / Math.max(0.001, copySeconds), 1) : undefined,
    regsyncEdgesPerSecond: regsyncCopy ? round(regsyncCopy.tagWrites / Math.max(0.001, regsyncCopy.wallSeconds), 1) : undefined,
    promoterCopyRequestsPerEdge: round(phaseSum(promotion, COPY_PHASES, (p) => p.requests) / c.edges, 3),
    regsyncCopyRequestsPerEdge: regsyncCopy?.perEdge,
    promoterOverRegsyncCopyRequests: regsyncCopy ? round(phaseSum(promotion, COPY_PHASES, (p) => p.requests) / regsyncCopy.requests) : undefined,
    signAttestSeconds: round(signAttestSeconds, 1),
    signAttestRequests,
    signAttestRequestsPerSignedManifestPerDestination: round(signAttestRequests / c.signedManifestDestinations, 2),
    signAttestMirrorRequests,
    /**
     * Sign requests per signed manifest and destination, counting what Sign wrote: with both formats
     * each signed manifest gets two signature-tag PUTs per destination (`.sig` and the referrers index).
     * Meaningful for a Sign phase stopped early too.
     */
    signRequestsPerSignatureWritten: signaturesWritten(promotion) ? round((promotion!.phases!.sign!.requests) / signaturesWritten(promotion)!, 2) : undefined,
    signaturesWritten: signaturesWritten(promotion),
    signAttestMirrorRequestsPerSignedManifestPerMirror: round(signAttestMirrorRequests / Math.max(1, c.signedManifestMirrorDestinations), 2),
    regsyncSignatureCopySeconds: regsyncSig?.wallSeconds,
    regsyncSignatureCopyRequests: regsyncSig?.requests,
    regsyncSignatureCopyRequestsPerSignedManifestPerMirror: regsyncSig ? round(regsyncSig.requests / Math.max(1, c.signedManifestMirrorDestinations), 2) : undefined,
    promoterMirroringOverRegsyncSignatureRequests: regsyncSig ? round(signAttestMirrorRequests / regsyncSig.requests) : undefined,
    promoterSignAttestOverRegsyncSignatureSeconds: regsyncSig ? round(signAttestSeconds / regsyncSig.wallSeconds) : undefined,
  };

  const target = (ok: boolean | undefined, measured: string, goal: string, note?: string) => ({ ok: ok ?? null, measured, goal, ...(note ? { note } : {}) });
  const noop = (s: StepFigures | undefined) => perRepo(s);
  const targets = {
    copySpeed: target(
      complete(regsyncCopy) && complete(promotion) ? comparison.regsyncCopyOverPromoterCopy! >= 1.5 : undefined,
      `regsync ${comparison.regsyncCopySeconds ?? '-'} s / promoter setup..promote ${comparison.promoterCopySeconds} s = ${comparison.regsyncCopyOverPromoterCopy ?? '-'}x`,
      'Setup through Promote at least 1.5x faster than regsync',
    ),
    signingRequests: target(
      complete(promotion) ? comparison.signAttestRequestsPerSignedManifestPerDestination <= 8 : undefined,
      `${comparison.signAttestRequestsPerSignedManifestPerDestination} requests per signed manifest per destination (${signAttestRequests} / ${c.signedManifestDestinations})`,
      '<= 8 (Sign + Attest, both formats)',
    ),
    signingWholeRun: target(
      complete(regsyncCopy) && complete(promotion) ? comparison.promoterWholeRunOverRegsyncCopy! <= 1.5 : undefined,
      `whole run ${promotion?.wallSeconds ?? '-'} s = ${comparison.promoterWholeRunOverRegsyncCopy ?? '-'}x regsync's copy`,
      "<= 1.5x regsync's copy-only time",
    ),
    noopRerun: target(
      complete(steps.rerun) ? noop(steps.rerun)!.perRepository <= 1.5 && noop(steps.rerun)!.perDigestRequests === 0 : undefined,
      steps.rerun ? `${noop(steps.rerun)!.perRepository} per repository (${steps.rerun.requests} / ${repositories}), ${steps.rerun.perDigestRequests} naming a digest` : '-',
      '<= 1.5 requests per repository, none per digest',
    ),
    nightlyInSync: target(
      complete(steps['mirror-in-sync']) ? noop(steps['mirror-in-sync'])!.perRepository <= 1.5 && noop(steps['mirror-in-sync'])!.perDigestRequests === 0 : undefined,
      steps['mirror-in-sync'] ? `${noop(steps['mirror-in-sync'])!.perRepository} per repository (${steps['mirror-in-sync'].requests} / ${repositories}), ${steps['mirror-in-sync'].perDigestRequests} naming a digest` : '-',
      '<= 1.5 requests per repository, none per digest',
    ),
    repaired: target(
      r.repair ? r.repair.repaired === r.repair.manifests && r.repair.manifests > 0 && (r.cosign ?? []).every((x) => x.ok) : undefined,
      r.repair ? `${r.repair.repaired}/${r.repair.manifests} manifests' signatures restored; cosign ${(r.cosign ?? []).filter((x) => x.ok).length}/${(r.cosign ?? []).length} verified` : '-',
      'every deleted signature restored, cosign verifies the sample',
    ),
    fullShapeEndToEnd: target(
      wholeCorpus && promotion ? !promotion.partial && promotion.wallSeconds <= 30 * 60 : undefined,
      `${promotion?.wallSeconds ?? '-'} s${promotion?.partial ? ' (did not finish)' : ''}`,
      '<= 30 min end to end',
      wholeCorpus ? undefined : 'applies to the whole corpus only',
    ),
    fullShapeWorkerRss: target(
      wholeCorpus ? r.workerPeakRssBytes <= 2 ** 30 : undefined,
      `${round(r.workerPeakRssBytes / MiB, 1)} MiB`,
      '<= 1 GiB worker RSS',
      wholeCorpus ? undefined : 'applies to the whole corpus only',
    ),
    fullShapeHistory: target(wholeCorpus ? maxEvents <= 10_000 : undefined, `${maxEvents} events`, 'no workflow history over 10,000 events', wholeCorpus ? undefined : 'applies to the whole corpus only'),
  };
  return {
    prefix: r.prefix,
    startedAt: r.startedAt,
    workload: { ...c, repositories },
    seedSeconds: round(r.seedMs / 1000, 1),
    machine: r.machine,
    options: r.options,
    steps,
    comparison,
    run: {
      workerPeakRssMiB: round(r.workerPeakRssBytes / MiB, 1),
      maxHistoryEvents: maxEvents,
      largestPayloadBytes: largestPayload,
      planBytes: promotion?.planBytes,
    },
    daily: r.daily,
    damage: r.damage,
    repair: r.repair,
    cosign: r.cosign?.map((x) => ({ command: x.command, ok: x.ok, ...(x.ok ? {} : { output: x.output }) })),
    skipped: r.skipped,
    accessLog: r.accessLog,
    targets,
  };
}

export type ShapeFigures = ReturnType<typeof shapeFigures>;
