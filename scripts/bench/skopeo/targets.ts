// The default bench's figures: its steps, the promoter's copy against skopeo's and regsync's as
// ratios, bytes uploaded against what was needed, the no-op reruns, the spot checks, and its
// targets. Pure: everything here can be recomputed from the JSON the bench writes.
import { allTargetsMet, complete, MiB, noopTarget, phaseSum, round, stepFigures, target, type StepFigures } from '../common/figures';
import { mib, printFigures } from '../common/print';
import type { DefaultResult } from './run';

const COPY_PHASES = ['setup', 'plan', 'provenance', 'validate', 'promote'];

/** A peer against the promoter's copy: its time over the promoter's, and requests per edge of both. */
function versus(peer: StepFigures | undefined, promoterCopySeconds: number, promotion: StepFigures | undefined) {
  if (!peer) return undefined;
  return {
    seconds: peer.wallSeconds,
    overPromoterCopy: promoterCopySeconds > 0 ? round(peer.wallSeconds / promoterCopySeconds) : undefined,
    overPromoterWholeRun: promotion ? round(peer.wallSeconds / promotion.wallSeconds) : undefined,
    requestsPerEdge: peer.perEdge,
    meanInFlight: peer.meanInFlight,
    succeeded: peer.status === 'succeeded' || peer.status === 'exit 0',
  };
}

export function defaultFigures(r: DefaultResult) {
  const c = r.workload;
  const steps = Object.fromEntries(r.steps.map((s) => [s.name, stepFigures(s, c.edges, c.rttMs)]));
  const { promotion, rerun } = steps;
  const verified = steps['rerun-verify-tags'];
  const repositories = c.destinationRepositories + c.sourceRepositories;
  const destinations = c.hosts.length;
  const copySeconds = round(
    phaseSum(promotion, COPY_PHASES, (p) => p.seconds),
    1,
  );
  const promote = promotion?.phases?.promote;
  const bytesNeeded = c.distinctBlobBytes * destinations;
  const blobsNeeded = c.distinctBlobs * destinations;
  const skopeo = versus(steps['skopeo-copy'], copySeconds, promotion);
  const regsync = versus(steps['regsync-copy'], copySeconds, promotion);
  const comparison = {
    promoterCopySeconds: copySeconds,
    promoterWholeRunSeconds: promotion?.wallSeconds,
    promoterCopyRequestsPerEdge: round(phaseSum(promotion, COPY_PHASES, (p) => p.requests) / c.edges, 3),
    skopeo,
    regsync,
    bytesUploaded: promote?.bytesUploaded,
    bytesNeeded,
    bytesUploadedOverNeeded: promote ? round(promote.bytesUploaded / bytesNeeded, 3) : undefined,
    blobUploads: promote?.blobUploads,
    blobsNeeded,
    signAttestRequestsPerSignedManifestPerDestination: round(phaseSum(promotion, ['sign', 'attest'], (p) => p.requests) / c.signedManifestDestinations, 2),
  };
  const checks = { checked: r.checks.length, ok: r.checks.filter((x) => x.ok).length, bad: r.checks.filter((x) => !x.ok) };
  const ratioTarget = (v: typeof skopeo, name: string, goal: number, step: StepFigures | undefined) =>
    target(
      v && complete(promotion) && complete(step) ? (v.overPromoterCopy ?? 0) >= goal : undefined,
      v ? `${name} ${v.seconds} s / promoter setup..promote ${copySeconds} s = ${v.overPromoterCopy ?? '-'}x` : `${name} not run`,
      `Setup through Promote at least ${goal}x faster than ${name}`,
    );
  const targets = {
    promoterSucceeded: target(
      promotion ? promotion.status === 'succeeded' && promotion.edges?.promoted === c.edges : undefined,
      promotion ? `${promotion.status}, ${promotion.edges?.promoted ?? 0}/${c.edges} edges promoted` : '-',
      'every edge promoted',
    ),
    peersSucceeded: target(
      skopeo || regsync ? [skopeo, regsync].every((v) => !v || v.succeeded) : undefined,
      [skopeo && `skopeo ${steps['skopeo-copy']!.status}`, regsync && `regsync ${steps['regsync-copy']!.status}`].filter(Boolean).join(', ') || '-',
      'every peer copy succeeded',
    ),
    copyVsSkopeo: ratioTarget(skopeo, 'skopeo', 3, steps['skopeo-copy']),
    copyVsRegsync: ratioTarget(regsync, 'regsync', 1.5, steps['regsync-copy']),
    noByteUploadedTwice: target(
      promote ? promote.bytesUploaded <= bytesNeeded && promote.blobUploads <= blobsNeeded : undefined,
      promote ? `${promote.bytesUploaded} / ${bytesNeeded} bytes, ${promote.blobUploads} / ${blobsNeeded} blob uploads` : '-',
      'no more bytes and blob uploads than the distinct blobs x destinations',
    ),
    rerunWritesNothing: target(
      rerun && verified ? rerun.writes === 0 && verified.writes === 0 && rerun.edges?.promoted === 0 : undefined,
      rerun && verified ? `${rerun.writes} and ${verified.writes} (--verify-tags) writes` : '-',
      'no write in either no-op rerun',
    ),
    noopRerun: noopTarget(rerun, repositories),
    spotChecksMatch: target(
      checks.checked ? checks.ok === checks.checked : undefined,
      `${checks.ok}/${checks.checked} match`,
      "every spot-checked tag at every tool's destination has the digest",
    ),
  };
  return {
    kind: 'default' as const,
    prefix: r.prefix,
    startedAt: r.startedAt,
    machine: { cpus: r.machine.cpus, loadavg1m: Object.fromEntries(Object.entries(r.machine.loadavg).map(([k, v]) => [k, round(v[0]!, 2)])) },
    options: r.options,
    workload: { ...c, repositories },
    seedSeconds: round(r.seedMs / 1000, 1),
    steps,
    comparison,
    checks,
    run: { workerPeakRssMiB: round(r.workerPeakRssBytes / MiB, 1) },
    skipped: r.skipped,
    accessLog: r.accessLog,
    peers: r.peers,
    targets,
  };
}

export type DefaultFigures = ReturnType<typeof defaultFigures>;

export const defaultTargetsMet = (f: DefaultFigures): boolean => allTargetsMet(f.targets);

export function printDefaultFigures(f: DefaultFigures): void {
  const w = f.workload;
  const c = f.comparison;
  const peer = (name: string, v: typeof c.skopeo): string =>
    v
      ? `  ${name.padEnd(8)} ${v.seconds} s = ${v.overPromoterCopy ?? '-'}x the promoter's copy (${v.overPromoterWholeRun ?? '-'}x its whole run); ${v.requestsPerEdge} requests per edge, ${v.meanInFlight ?? '-'} in flight`
      : `  ${name.padEnd(8)} not run`;
  printFigures({
    title: `== promoter bench ${f.prefix} (${f.startedAt}); ${f.machine.cpus} CPUs, 1-min load ${Object.entries(f.machine.loadavg1m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    workload: [
      `workload: ${w.digests} images (${w.multiArch} multi-arch, ${w.platforms} platforms) in ${w.imageNames} repositories -> ${w.hosts.length} destinations = ${w.edges} edges`,
      `          ${w.distinctBlobs} distinct blobs, ${mib(w.distinctBlobBytes)}; own layers ~${Math.round(w.layerSize / 1024)} KiB; delay ${w.rttMs} ms per request; seeded in ${f.seedSeconds} s (not measured)`,
      `          peers: ${[f.peers.skopeo?.version, f.peers.regsync && `regsync ${f.peers.regsync.version}`].filter(Boolean).join(', ') || 'none'}`,
    ],
    steps: f.steps,
    summary: [
      `promoter vs skopeo and regsync (same run, same registries, requests from the registries' request logs):`,
      `  promoter setup..promote ${c.promoterCopySeconds} s (whole run with Sign and Attest ${c.promoterWholeRunSeconds ?? '-'} s); ${c.promoterCopyRequestsPerEdge} requests per edge`,
      peer('skopeo', c.skopeo),
      peer('regsync', c.regsync),
      `  bytes uploaded ${c.bytesUploaded ?? '-'} vs unique bytes needed ${c.bytesNeeded} (distinct blobs x destinations): ${c.bytesUploadedOverNeeded ?? '-'}; blob uploads ${c.blobUploads ?? '-'} (needed ${c.blobsNeeded})`,
      `  sign + attest: ${c.signAttestRequestsPerSignedManifestPerDestination} requests per signed manifest per destination`,
      `spot checks (skopeo inspect --raw, tag -> digest): ${f.checks.ok}/${f.checks.checked} match`,
      ...f.checks.bad.map((b) => `  MISMATCH ${b.ref}: expected ${b.expected}, got ${b.got}`),
      `run: worker peak RSS ${f.run.workerPeakRssMiB} MiB`,
    ],
    skipped: f.skipped,
    targets: f.targets,
  });
}
