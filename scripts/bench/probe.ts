// Measurement probes for the in-process worker: which phase sent which registry request, and how
// much memory the process held. Nothing here changes what the worker does; the request probe
// observes the bench worker's registry requests and labels each with the activity that made it
// (the client's own stats() stay the authority for raw HTTP counts).
import { readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import type { RequestEvent } from '../../lib/oci';
import type { RegistryTelemetry } from '../../activities/shared/registry-adapter';

export type Counts = Record<string, number>;

export interface RequestBreakdown {
  /** activity type ("plan", "promoteBatch", ...) -> operation -> calls */
  byPhase: Record<string, Counts>;
  /** activity type -> registry host -> calls */
  byPhaseHost: Record<string, Counts>;
}

/** "HEAD manifest" split by what it asked for: a tag (per edge) or a digest. */
function operationOf(spec: RequestEvent): string {
  const op = spec.operation || `${spec.method} ?`;
  const m = /\/manifests\/([^/?]+)/.exec(spec.path);
  if (!m) return op;
  const ref = decodeURIComponent(m[1]!);
  if (ref.startsWith('sha256:')) return `${op} by digest`;
  if (/^sha256-[0-9a-f]{64}/.test(ref)) return `${op} by signature/referrer tag`;
  return `${op} by tag`;
}

function currentActivity(): string {
  try {
    return Context.current().info.activityType;
  } catch {
    return 'outside-activity';
  }
}

export class RequestProbe {
  private data: RequestBreakdown = { byPhase: {}, byPhaseHost: {} };

  constructor(telemetry: RegistryTelemetry) {
    telemetry.onRequest((spec: RequestEvent): void => {
      const phase = currentActivity();
      const ops = (this.data.byPhase[phase] ??= {});
      ops[operationOf(spec)] = (ops[operationOf(spec)] ?? 0) + 1;
      const hosts = (this.data.byPhaseHost[phase] ??= {});
      hosts[spec.host] = (hosts[spec.host] ?? 0) + 1;
    });
  }

  /** What was recorded since the last take(), then start afresh. */
  take(): RequestBreakdown {
    const d = this.data;
    this.data = { byPhase: {}, byPhaseHost: {} };
    return d;
  }
}

export interface MemoryPeak {
  baselineRssBytes: number;
  peakRssBytes: number;
  peakHeapUsedBytes: number;
  samples: number;
}

/** Samples process memory every `intervalMs` until stop(). */
export function sampleMemory(intervalMs = 100): { stop(): MemoryPeak } {
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  let samples = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    samples++;
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return { baselineRssBytes: baseline.rss, peakRssBytes: peakRss, peakHeapUsedBytes: peakHeap, samples };
    },
  };
}

type HostCounters = { total: number; byMethod: Counts; retries: number; throttled: number };

/** Raw HTTP requests (stats()) per host and method, `after - before`; retries and 429s too. */
export function statsDelta(before: Record<string, HostCounters>, after: Record<string, HostCounters>): Record<string, HostCounters> {
  const out: Record<string, HostCounters> = {};
  for (const [host, a] of Object.entries(after)) {
    const b = before[host];
    const byMethod: Counts = {};
    for (const [m, n] of Object.entries(a.byMethod)) {
      const d = n - (b?.byMethod[m] ?? 0);
      if (d) byMethod[m] = d;
    }
    const total = a.total - (b?.total ?? 0);
    if (total) out[host] = { total, byMethod, retries: a.retries - (b?.retries ?? 0), throttled: a.throttled - (b?.throttled ?? 0) };
  }
  return out;
}

export function sumCounts(...cs: Counts[]): Counts {
  const out: Counts = {};
  for (const c of cs) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export interface CpuSnapshot {
  /** This process (the worker, when it runs here): user + system seconds. */
  self: number;
  /** Waited-for child processes (skopeo): user + system seconds, from /proc/self/stat. */
  children: number;
  /** Stack components by name (registries, Temporal, S3): user + system seconds. */
  components: Record<string, number>;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime+stime (fields 14, 15) or cutime+cstime (16, 17) of /proc/<pid>/stat, in seconds. */
function procCpu(pid: number | 'self', children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [a, b] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
    return (Number(a) + Number(b)) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export function cpuSnapshot(components: { name: string; pid?: number }[]): CpuSnapshot {
  const u = process.cpuUsage();
  return {
    self: (u.user + u.system) / 1e6,
    children: procCpu('self', true),
    components: Object.fromEntries(components.filter((c) => c.pid !== undefined).map((c) => [c.name, procCpu(c.pid!)])),
  };
}

export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    self: r(b.self - a.self),
    children: r(b.children - a.children),
    components: Object.fromEntries(Object.entries(b.components).map(([k, v]) => [k, r(v - (a.components[k] ?? 0))])),
  };
}
