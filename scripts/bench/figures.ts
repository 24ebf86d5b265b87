// From raw measurements to the figures the issue asks for, plus a verdict on each target.
// Pure: everything here can be recomputed from the JSON the bench writes.
import type { PhaseName } from '../../lib/run/outcomes';
import { sumCounts, type Counts, type CpuSnapshot } from './probe';
import type { PromotionMeasurement } from './promoter';
import type { SkopeoRun } from './skopeo';
import type { Workload } from './workload';

export interface BenchResult {
  prefix: string;
  startedAt: string;
  benchMs: number;
  seedMs: number;
  machine: { cpus: number; loadavg: Record<string, number[]> };
  workload: Workload;
  destinations: string[];
  promoterLimits: { requestsPerSecond: number; burst: number; concurrency: number };
  first: PromotionMeasurement;
  rerun: PromotionMeasurement;
  /** The same no-op rerun with --verify-tags (every destination tag HEADed). */
  rerunVerified: PromotionMeasurement;
  skopeo?: SkopeoRun & { version: string };
  checks: { ref: string; expected: string; got: string; ok: boolean }[];
  /** CPU seconds spent while each tool ran: this process (worker), skopeo children, stack components. */
  cpu: { promoter: CpuSnapshot; skopeo?: CpuSnapshot; rerun: CpuSnapshot };
}

const WRITE_METHODS = ['PUT', 'POST', 'PATCH', 'DELETE'];
const COPY_PHASES: PhaseName[] = ['setup', 'plan', 'promote'];

function httpTotals(m: PromotionMeasurement): { total: number; byMethod: Counts; byHost: Counts; retries: number; throttled: number } {
  const hosts = Object.values(m.http);
  const byMethod = sumCounts(...hosts.map((h) => h.byMethod));
  const byHost = Object.fromEntries(Object.entries(m.http).map(([h, s]) => [h, s.total]));
  const sum = (f: (h: (typeof hosts)[number]) => number): number => hosts.reduce((n, h) => n + f(h), 0);
  return { total: sum((h) => h.total), byMethod, byHost, retries: sum((h) => h.retries), throttled: sum((h) => h.throttled) };
}

const callsIn = (m: PromotionMeasurement, phases: string[]): number =>
  phases.reduce((n, p) => n + Object.values(m.calls.byPhase[p] ?? {}).reduce((a, b) => a + b, 0), 0);

const per = (c: Counts, d: number): Record<string, number> => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v / d, 2)]));
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

function phaseMs(m: PromotionMeasurement): Record<string, number> {
  return Object.fromEntries(Object.entries(m.report.phases).map(([p, r]) => [p, r.durationMs ?? 0]));
}

export function figuresOf(r: BenchResult) {
  const w = r.workload;
  const dests = r.destinations.length;
  const edges = w.images.length * dests; // one tag per image and destination
  const sourceRepos = w.options.repos;
  const destRepos = w.options.repos * dests;
  const phases = phaseMs(r.first);
  const copyMs = COPY_PHASES.reduce((n, p) => n + (phases[p] ?? 0), 0);
  const t = r.first.report.transfer;
  const bytesNeeded = w.uniqueBlobBytes * dests;
  const blobsNeeded = w.uniqueBlobs * dests;
  const http = httpTotals(r.first);

  const skopeo = r.skopeo
    ? {
        version: r.skopeo.version,
        copies: r.skopeo.copies,
        parallelism: r.skopeo.parallelism,
        wallSeconds: round(r.skopeo.wallMs / 1000),
        sequentialEstimateSeconds: round(r.skopeo.sumProcessMs / 1000),
        meanProcessMs: round(r.skopeo.sumProcessMs / r.skopeo.copies, 0),
        failures: r.skopeo.failures.length,
        firstFailures: r.skopeo.failures.slice(0, 3),
      }
    : undefined;
  const ratio = (a: number) => (r.skopeo ? round(r.skopeo.wallMs / a, 2) : undefined);

  const figures = {
    prefix: r.prefix,
    startedAt: r.startedAt,
    benchSeconds: round(r.benchMs / 1000),
    seedSeconds: round(r.seedMs / 1000),
    cpuSeconds: r.cpu,
    machine: { cpus: r.machine.cpus, loadavg1m: Object.fromEntries(Object.entries(r.machine.loadavg).map(([k, v]) => [k, round(v[0]!, 2)])) },
    workload: {
      images: w.images.length,
      multiArch: w.images.filter((i) => i.multiArch).length,
      repositories: w.options.repos,
      destinations: r.destinations,
      edges,
      manifestsPerDestination: w.manifests,
      layerSizeBytes: w.options.layerSize,
      distinctBlobs: w.uniqueBlobs,
      distinctBlobBytes: w.uniqueBlobBytes,
      blobBytesWithoutSharing: w.naiveBlobBytes,
    },
    promoter: {
      status: r.first.report.status,
      exitCode: r.first.exitCode,
      wallSeconds: round(r.first.wallMs / 1000),
      copyPhasesSeconds: round(copyMs / 1000),
      phaseSeconds: Object.fromEntries(Object.entries(phases).map(([p, ms]) => [p, round(ms / 1000, 2)])),
      limits: r.promoterLimits,
      edges: r.first.report.edges,
      signatures: r.first.report.signatures,
      attestations: r.first.report.attestations,
      failures: r.first.report.failureCount,
      firstFailures: r.first.report.failures.slice(0, 3),
      transfer: t,
      bytesUploaded: t.bytesUploaded,
      bytesNeeded,
      bytesUploadedOverNeeded: round(t.bytesUploaded / bytesNeeded, 3),
      blobsUploaded: t.blobsUploaded,
      blobsNeeded,
      requests: {
        total: http.total,
        byMethod: http.byMethod,
        byHost: http.byHost,
        retries: http.retries,
        throttled: http.throttled,
        perEdge: round(http.total / edges, 2),
        perEdgeByMethod: per(http.byMethod, edges),
        /** Logical calls of the copy phases (setup, plan, promote) per edge: the part comparable to skopeo. */
        copyCallsPerEdge: round(callsIn(r.first, ['setup', 'plan', 'promoteBatch']) / edges, 2),
        /** Sign and Attest calls per manifest in place (indexes and children), all destinations included. */
        signCallsPerManifest: round(callsIn(r.first, ['sign']) / w.manifests, 2),
        attestCallsPerImage: round(callsIn(r.first, ['attest']) / w.images.length, 2),
      },
      callsByPhase: r.first.calls.byPhase,
      memory: {
        baselineRssMiB: round(r.first.memory.baselineRssBytes / 2 ** 20),
        peakRssMiB: round(r.first.memory.peakRssBytes / 2 ** 20),
        peakHeapUsedMiB: round(r.first.memory.peakHeapUsedBytes / 2 ** 20),
        processMaxRssMiB: round(r.first.maxRssBytes / 2 ** 20),
      },
    },
    skopeo,
    comparison: {
      skopeoOverPromoterWall: ratio(r.first.wallMs),
      skopeoOverPromoterCopyPhases: ratio(copyMs),
    },
    rerun: rerunFigures(r.rerun, edges, sourceRepos, destRepos),
    rerunVerifyTags: rerunFigures(r.rerunVerified, edges, sourceRepos, destRepos),
    checks: { checked: r.checks.length, ok: r.checks.filter((c) => c.ok).length, bad: r.checks.filter((c) => !c.ok) },
    verdict: { ok: false, targets: {} as Record<string, boolean> },
  };
  const targets: Record<string, boolean> = {
    promoterSucceeded: r.first.report.status === 'succeeded' && r.first.report.edges.promoted === edges,
    ...(r.skopeo ? { atLeast3xFasterWall: (ratio(r.first.wallMs) ?? 0) >= 3, atLeast3xFasterCopyPhases: (ratio(copyMs) ?? 0) >= 3, skopeoSucceeded: r.skopeo.failures.length === 0 } : {}),
    noByteUploadedTwice: t.bytesUploaded <= bytesNeeded && t.blobsUploaded <= blobsNeeded,
    rerunWritesNothing: figures.rerun.requests.writes === 0 && figures.rerunVerifyTags.requests.writes === 0 && r.rerun.report.edges.promoted === 0,
    rerunRequestsGrowWithRepositoriesNotEdges: !figures.rerun.growsWithEdges,
    spotChecksMatch: r.checks.every((c) => c.ok),
  };
  figures.verdict = { ok: Object.values(targets).every(Boolean), targets };
  return figures;
}

/** A no-op rerun: its requests, and which of them scale with repositories, edges or digests. */
function rerunFigures(m: PromotionMeasurement, edges: number, sourceRepos: number, destRepos: number) {
  const http = httpTotals(m);
  const writes = WRITE_METHODS.reduce((n, k) => n + (http.byMethod[k] ?? 0), 0);
  const calls = sumCounts(...Object.values(m.calls.byPhase));
  // list tags: per repository; HEAD by tag in plan: per tagged edge; everything after plan: per digest and destination.
  const headByTag = m.calls.byPhase.plan?.['HEAD manifest by tag'] ?? 0;
  const callsAfterPlan = Object.entries(m.calls.byPhase)
    .filter(([phase]) => !['plan', 'setup'].includes(phase))
    .reduce((n, [, c]) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
  return {
    status: m.report.status,
    wallSeconds: round(m.wallMs / 1000),
    phaseSeconds: Object.fromEntries(Object.entries(phaseMs(m)).map(([p, ms]) => [p, round(ms / 1000, 2)])),
    edges: m.report.edges,
    signatures: m.report.signatures,
    requests: { total: http.total, byMethod: http.byMethod, byHost: http.byHost, writes, retries: http.retries },
    sourceRepositories: sourceRepos,
    destinationRepositories: destRepos,
    perRepository: round(http.total / (sourceRepos + destRepos), 2),
    perEdge: round(http.total / edges, 2),
    callsByPhase: m.calls.byPhase,
    listTags: calls['list tags'] ?? 0,
    headByTag,
    callsAfterPlan,
    growsWithEdges: headByTag >= edges * 0.9 || callsAfterPlan >= edges * 0.9,
    memory: { peakRssMiB: round(m.memory.peakRssBytes / 2 ** 20) },
  };
}

export type Figures = ReturnType<typeof figuresOf>;
