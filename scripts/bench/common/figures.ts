// From a bench's raw step records to the figures both benches print and write: requests by kind,
// host and role, and per promotion phase its requests, mean and peak in flight and critical-path
// floor. Pure: everything here can be recomputed from the JSON a bench writes.
import type { PhaseName } from '../../../lib/run/outcomes';
import type { Tally } from './access-log';
import { phaseFloor } from './critical-path';
import type { StepRecord } from './steps';

export const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
export const MiB = 2 ** 20;

function sortDesc(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).sort(([, a], [, b]) => b - a));
}

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
    /** Requests that write (older records have none). */
    writes: t.writes,
    /** Most requests one host logged in one second (older records have none). */
    peakPerSecondByHost: sortDesc(t.peakPerSecondByHost ?? {}),
    /** Tag writes: one per edge put in place, by any tool (progress of a step stopped early). */
    tagWrites: t.byKind['manifest PUT by tag'] ?? 0,
  };
}

function phaseFigures(s: StepRecord, edges: number, rttMs: number) {
  if (!s.phases) return undefined;
  return Object.fromEntries(
    Object.entries(s.phases).map(([p, r]) => {
      const floor = s.work ? phaseFloor(s.work, p as PhaseName, rttMs) : undefined;
      return [
        p,
        {
          seconds: round(r.ms / 1000, 2),
          ...tallyFigures(r.tally, edges),
          /** Requests in flight, time-averaged over the phase, as the client saw them (registry time + delay). */
          meanInFlight: r.inFlight ? round(r.inFlight.mean, 2) : undefined,
          peakInFlight: r.inFlight?.peak,
          /** The worker's largest sampled RSS inside the phase. */
          peakRssMiB: r.peakRssBytes ? round(r.peakRssBytes / MiB, 0) : undefined,
          /** The longest chain of dependent requests, and what it costs at the bench's round trip. */
          floor,
          /** Phase time / floor time (undefined on bare loopback, where the floor is 0 ms). */
          overFloor: floor?.ms ? round(r.ms / floor.ms, 1) : undefined,
        },
      ];
    }),
  );
}

function peerFigures(s: StepRecord) {
  const p = s.peer;
  if (!p) return undefined;
  return {
    tool: p.tool,
    copies: p.copies,
    parallelism: p.parallelism,
    failures: p.failures.length,
    firstFailures: p.failures.slice(0, 3),
    meanProcessMs: p.copies ? round(p.sumProcessMs / p.copies, 0) : undefined,
    sequentialEstimateSeconds: round(p.sumProcessMs / 1000, 1),
    cpuSeconds: p.cpuSeconds,
  };
}

function stepStatus(s: StepRecord): string | undefined {
  if (s.report) return s.report.status;
  if (s.mirrorReport) return s.mirrorReport.status;
  if (s.regsync) return `exit ${s.regsync.exitCode}`;
  if (s.peer) return s.peer.failures.length ? `${s.peer.failures.length} of ${s.peer.copies} failed` : 'succeeded';
  return undefined;
}

export function stepFigures(s: StepRecord, edges: number, rttMs: number) {
  return {
    name: s.name,
    wallSeconds: round(s.wallMs / 1000, 1),
    partial: s.partial,
    ...tallyFigures(s.tally, edges),
    meanInFlight: s.inFlight ? round(s.inFlight.mean, 2) : undefined,
    peakInFlight: s.inFlight?.peak,
    phases: phaseFigures(s, edges, rttMs),
    requestsOutsidePhases: s.outsidePhases,
    afterPhasesPeakRssMiB: s.afterPhasesPeakRssBytes ? round(s.afterPhasesPeakRssBytes / MiB, 0) : undefined,
    workerPeakRssMiB: round(s.workerPeakRssBytes / MiB, 1),
    workerCpuSeconds: s.workerCpuSeconds,
    workers: s.workers?.map((w) => ({ pid: w.pid, peakRssMiB: round(w.peakRssBytes / MiB, 1), cpuSeconds: w.cpuSeconds, work: w.work })),
    registryCpuSeconds: s.registryCpuSeconds,
    loadAverage1m: { start: s.load?.[0], end: s.load?.[1] },
    status: stepStatus(s),
    edges: s.report?.edges,
    transfer: s.report?.transfer,
    signatures: s.report?.signatures,
    attestations: s.report?.attestations,
    failures: s.report
      ? { count: s.report.failureCount, first: s.report.failures.slice(0, 3) }
      : s.mirrorReport
        ? { count: s.mirrorReport.failures.length, first: s.mirrorReport.failures.slice(0, 3) }
        : undefined,
    mirror: s.mirrorReport
      ? { digests: s.mirrorReport.digests, signedNow: s.mirrorReport.signedNow, mirrored: s.mirrorReport.mirrored, alreadyInSync: s.mirrorReport.alreadyInSync }
      : undefined,
    histories: s.histories
      ? {
          workflows: s.histories.workflows.length,
          maxEvents: s.histories.maxEvents,
          maxEventsWorkflow: s.histories.maxEventsWorkflow,
          largestPayloadBytes: s.histories.largestPayloadBytes,
          largestPayloadWhere: s.histories.largestPayloadWhere,
          totalBytes: s.histories.totalBytes,
        }
      : undefined,
    planBytes: s.planBytes,
    regsync: s.regsync
      ? {
          entries: s.regsync.entries,
          exitCode: s.regsync.exitCode,
          errors: s.regsync.errors,
          firstErrors: s.regsync.firstErrors,
          cpuSeconds: s.regsync.cpuSeconds,
        }
      : undefined,
    peer: peerFigures(s),
  };
}

export type StepFigures = ReturnType<typeof stepFigures>;
export type PhaseFigures = NonNullable<StepFigures['phases']>[string];

/** The sum of `f` over the named phases of a step (0 for a phase the step did not run). */
export const phaseSum = (s: StepFigures | undefined, phases: string[], f: (p: PhaseFigures) => number): number =>
  phases.reduce((n, p) => n + (s?.phases?.[p] ? f(s.phases[p]) : 0), 0);

/** A step that ran to its end (not cut by a time limit). */
export const complete = (s: StepFigures | undefined): s is StepFigures => !!s && !s.partial;

export interface Target {
  ok: boolean | null;
  measured: string;
  goal: string;
  note?: string;
}

export const target = (ok: boolean | undefined, measured: string, goal: string, note?: string): Target => ({
  ok: ok ?? null,
  measured,
  goal,
  ...(note ? { note } : {}),
});

/** A no-op step: <= 1.5 requests per repository, none naming a digest. */
export function noopTarget(s: StepFigures | undefined, repositories: number): Target {
  const perRepository = s ? round(s.requests / repositories, 3) : undefined;
  return target(
    complete(s) ? perRepository! <= 1.5 && s.perDigestRequests === 0 : undefined,
    s ? `${perRepository} per repository (${s.requests} / ${repositories}), ${s.perDigestRequests} naming a digest` : '-',
    '<= 1.5 requests per repository, none per digest',
  );
}

export const allTargetsMet = (targets: Record<string, Target>): boolean => Object.values(targets).every((t) => t.ok !== false);
