// The k8s shape's figures: its steps, the comparison with regsync, and its targets. Pure:
// everything here can be recomputed from the JSON the bench writes (`--figures FILE`).
import { allTargetsMet, complete, MiB, noopTarget, phaseSum, round, stepFigures, target, type StepFigures } from '../common/figures';
import { mib, printFigures } from '../common/print';
import type { ShapeResult } from './run';

const COPY_PHASES = ['setup', 'plan', 'provenance', 'validate', 'promote'];

const signaturesWritten = (s: StepFigures | undefined): number | undefined => {
  const puts = s?.phases?.sign?.byKind['manifest PUT by signature tag'];
  return puts ? puts / 2 : undefined;
};

export function shapeFigures(r: ShapeResult) {
  const c = r.workload;
  const steps = Object.fromEntries(r.steps.map((s) => [s.name, stepFigures(s, c.edges, c.rttMs)]));
  const promotion = steps.promotion;
  const repositories = c.destinationRepositories + c.sourceRepositories;
  const copySeconds = phaseSum(promotion, COPY_PHASES, (p) => p.seconds);
  const signAttestRequests = phaseSum(promotion, ['sign', 'attest'], (p) => p.requests);
  const signAttestMirrorRequests = phaseSum(promotion, ['sign', 'attest'], (p) => p.byRole.mirror ?? 0);
  const signAttestSeconds = phaseSum(promotion, ['sign', 'attest'], (p) => p.seconds);
  const regsyncCopy = steps['regsync-copy'];
  const regsyncSig = steps['regsync-signatures'];
  const maxEvents = Math.max(0, ...r.steps.map((s) => s.histories?.maxEvents ?? 0));
  const largestPayload = Math.max(0, ...r.steps.map((s) => s.histories?.largestPayloadBytes ?? 0));
  const wholeCorpus =
    !!promotion && !r.options.selection.projects?.length && r.options.selection.firstProjects === undefined && (r.options.selection.scale ?? 1) >= 1;

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
    signRequestsPerSignatureWritten: signaturesWritten(promotion) ? round(promotion!.phases!.sign!.requests / signaturesWritten(promotion)!, 2) : undefined,
    signaturesWritten: signaturesWritten(promotion),
    signAttestMirrorRequestsPerSignedManifestPerMirror: round(signAttestMirrorRequests / Math.max(1, c.signedManifestMirrorDestinations), 2),
    regsyncSignatureCopySeconds: regsyncSig?.wallSeconds,
    regsyncSignatureCopyRequests: regsyncSig?.requests,
    regsyncSignatureCopyRequestsPerSignedManifestPerMirror: regsyncSig
      ? round(regsyncSig.requests / Math.max(1, c.signedManifestMirrorDestinations), 2)
      : undefined,
    promoterMirroringOverRegsyncSignatureRequests: regsyncSig ? round(signAttestMirrorRequests / regsyncSig.requests) : undefined,
    promoterSignAttestOverRegsyncSignatureSeconds: regsyncSig ? round(signAttestSeconds / regsyncSig.wallSeconds) : undefined,
  };

  const targets = {
    copySpeed: target(
      complete(regsyncCopy) && complete(promotion) ? comparison.regsyncCopyOverPromoterCopy! >= 1.5 : undefined,
      `regsync ${comparison.regsyncCopySeconds ?? '-'} s / promoter setup..promote ${comparison.promoterCopySeconds} s = ${comparison.regsyncCopyOverPromoterCopy ?? '-'}x`,
      'Setup through Promote at least 1.5x faster than regsync',
    ),
    signingRequests: target(
      // 8 before shared tags were merged on write (a read before and a HEAD after each shared tag: +4) and
      // before the verification summary (its own referrer manifest and blobs at every destination: +2).
      complete(promotion) ? comparison.signAttestRequestsPerSignedManifestPerDestination <= 14 : undefined,
      `${comparison.signAttestRequestsPerSignedManifestPerDestination} requests per signed manifest per destination (${signAttestRequests} / ${c.signedManifestDestinations})`,
      '<= 14 (Sign + Attest, both formats, shared tags merged on write, with the verification summary)',
    ),
    signingWholeRun: target(
      complete(regsyncCopy) && complete(promotion) ? comparison.promoterWholeRunOverRegsyncCopy! <= 1.5 : undefined,
      `whole run ${promotion?.wallSeconds ?? '-'} s = ${comparison.promoterWholeRunOverRegsyncCopy ?? '-'}x regsync's copy`,
      "<= 1.5x regsync's copy-only time",
    ),
    noopRerun: noopTarget(steps.rerun, repositories),
    nightlyInSync: noopTarget(steps['mirror-in-sync'], repositories),
    repaired: target(
      r.repair ? r.repair.repaired === r.repair.manifests && r.repair.manifests > 0 && (r.cosign ?? []).every((x) => x.ok) : undefined,
      r.repair
        ? `${r.repair.repaired}/${r.repair.manifests} manifests' signatures restored; cosign ${(r.cosign ?? []).filter((x) => x.ok).length}/${(r.cosign ?? []).length} verified`
        : '-',
      'every deleted signature restored, cosign verifies the sample',
    ),
    fullShapeEndToEnd: target(
      wholeCorpus && promotion ? !promotion.partial && promotion.wallSeconds <= 30 * 60 : undefined,
      `${promotion?.wallSeconds ?? '-'} s${promotion?.partial ? ' (did not finish)' : ''}`,
      '<= 30 min end to end',
      wholeCorpus ? undefined : 'applies to the whole corpus only',
    ),
    fullShapeWorkerRss: target(
      wholeCorpus ? r.workerPeakRssBytes <= 512 * MiB : undefined,
      `${round(r.workerPeakRssBytes / MiB, 1)} MiB`,
      '<= 512 MiB worker RSS',
      wholeCorpus ? undefined : 'applies to the whole corpus only',
    ),
    fullShapeHistory: target(
      wholeCorpus ? maxEvents <= 10_000 : undefined,
      `${maxEvents} events`,
      'no workflow history over 10,000 events',
      wholeCorpus ? undefined : 'applies to the whole corpus only',
    ),
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
    peers: r.peers,
    targets,
  };
}

export type ShapeFigures = ReturnType<typeof shapeFigures>;

export const shapeTargetsMet = (f: ShapeFigures): boolean => allTargetsMet(f.targets);

export function printShapeFigures(f: ShapeFigures): void {
  const w = f.workload;
  const c = f.comparison;
  const summary: string[] = [];
  if (f.damage)
    summary.push(
      `damage: signatures of ${f.damage.images} image digests (${f.damage.manifests} manifests) deleted on mirror #${f.damage.mirrorIndex}: ${f.damage.deleted} manifests removed`,
    );
  if (f.repair)
    summary.push(
      `repair check: ${f.repair.repaired}/${f.repair.manifests} manifests have the primary's .sig and referrers index again${f.repair.missing.length ? `; missing: ${f.repair.missing.join(', ')}` : ''}`,
    );
  for (const x of f.cosign ?? []) summary.push(`  ${x.ok ? 'ok  ' : 'FAIL'} ${x.command}${x.ok ? '' : `\n       ${x.output}`}`);
  summary.push(
    '',
    "promoter vs regsync (same run, same registries, requests from the registries' request logs):",
    `  copy: promoter setup..promote ${c.promoterCopySeconds} s vs regsync ${c.regsyncCopySeconds ?? '-'} s: regsync/promoter ${c.regsyncCopyOverPromoterCopy ?? '-'}x; requests per edge ${c.promoterCopyRequestsPerEdge} vs ${c.regsyncCopyRequestsPerEdge ?? '-'} (promoter/regsync ${c.promoterOverRegsyncCopyRequests ?? '-'}x)`,
    `  edges in place per second of copying (tag writes / time): promoter ${c.promoterEdgesPerSecond ?? '-'}, regsync ${c.regsyncEdgesPerSecond ?? '-'}`,
    `  whole promotion with signing ${c.promoterWholeRunSeconds ?? '-'} s = ${c.promoterWholeRunOverRegsyncCopy ?? '-'}x regsync's copy`,
    `  sign + attest: ${c.signAttestSeconds} s, ${c.signAttestRequests} requests = ${c.signAttestRequestsPerSignedManifestPerDestination} per signed manifest per destination; on mirrors ${c.signAttestMirrorRequests} = ${c.signAttestMirrorRequestsPerSignedManifestPerMirror} per signed manifest per mirror`,
    ...(c.signaturesWritten !== undefined
      ? [
          `  sign alone: ${c.signRequestsPerSignatureWritten} requests per signature written (${c.signaturesWritten} manifest x destination signatures, both formats)`,
        ]
      : []),
    `  regsync signature copy primary -> mirrors: ${c.regsyncSignatureCopySeconds ?? '-'} s, ${c.regsyncSignatureCopyRequests ?? '-'} requests = ${c.regsyncSignatureCopyRequestsPerSignedManifestPerMirror ?? '-'} per signed manifest per mirror; promoter mirror requests / regsync ${c.promoterMirroringOverRegsyncSignatureRequests ?? '-'}x, promoter sign+attest time / regsync ${c.promoterSignAttestOverRegsyncSignatureSeconds ?? '-'}x`,
    `run: worker peak RSS ${f.run.workerPeakRssMiB} MiB; largest history ${f.run.maxHistoryEvents} events; largest payload ${f.run.largestPayloadBytes} B; plan document ${f.run.planBytes ?? '-'} B`,
  );
  printFigures({
    title: `== k8s-shape bench ${f.prefix} (${f.startedAt}); ${f.machine?.cpus ?? '?'} CPUs, shared with other work (see the load per step)`,
    workload: [
      `workload: ${w.projects} projects, ${w.imageNames} images, ${w.digests} digests (${w.multiArch} multi-arch x${w.platforms ?? 3} platforms), ${w.imageDigests} (image, digest) pairs`,
      `          ${w.edges} edges to ${w.destinationRegistries} destination registries on ${w.hosts.length} hosts (${w.destinationRepositories} destination + ${w.sourceRepositories} source repositories)`,
      `          ${w.signedManifestDestinations} signed manifest x destination pairs (${w.signedManifestMirrorDestinations} on mirrors); ${w.distinctBlobs} distinct blobs, ${mib(w.distinctBlobBytes)}; delay ${w.rttMs} ms per request; seeded in ${f.seedSeconds} s (not measured)`,
      ...(f.peers?.regsync ? [`          peer: ${f.peers.regsync.version} (${f.peers.regsync.bin})`] : []),
    ],
    steps: f.steps,
    summary,
    skipped: f.skipped,
    targets: f.targets,
  });
}
