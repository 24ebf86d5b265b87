// What the bench registries saw, from their own request logs: every request of every tool is
// counted the same way, by the server that answered it. Each log line becomes one row of a
// columnar table (a million rows stay a few tens of MiB); figures are sums over rows.
//
// The lines are distribution's "response completed" records (JSON, on stderr at level info):
// method, URI, status, bytes written, the time the response completed and how long the registry
// took. With a delay proxy in front, every request also waited `delayMs` there, so a client saw
// it in flight from `end - duration - delayMs` to `end`.
//
// A row belongs to the bench step whose marker request (`GET /v2/?bench-step=N`) that registry
// logged last: the bench sends the marker to every registry between steps and waits to see it,
// so a step's rows are exact. Inside a promotion, rows are split by phase with the time the
// registry logged them (see StepRunner.splitPhases).

const MARKER = /^\/v2\/\?bench-step=(\d+)$/;
const COMPLETED = '"msg":"response completed';

/** One request as distribution 2.8 logs it with `log: { formatter: json, level: info }`. */
interface RequestLine {
  'http.request.method'?: string;
  'http.request.uri'?: string;
  'http.response.status'?: number;
  'http.response.written'?: number;
  'http.response.duration'?: string;
  time?: string;
}

const DURATION_UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, μs: 1e-3, ns: 1e-6 };

/** A Go duration ("1.5s", "884.88µs", "2m3.1s") in milliseconds; NaN when it is not one. */
export function goDurationMs(text: string): number {
  let ms = 0;
  let matched = 0;
  for (const m of text.matchAll(/([0-9.]+)(h|ms|m|s|us|µs|μs|ns)/g)) {
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched += m[0].length;
  }
  return matched === text.length && matched > 0 ? ms : NaN;
}

/** RFC 3339 with nanoseconds ("2026-12-03T08:43:17.567398423Z") in epoch milliseconds, to the microsecond. */
export function timeMs(text: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return NaN;
  return Date.parse(`${m[1]}${m[3]}`) + (m[2] ? Math.round(Number(`0${m[2]}`) * 1e6) / 1000 : 0);
}

/** True for the lines add() counts; the others (start-up, warnings) go to the registry's own log file. */
export function isRequestLine(line: string): boolean {
  return line.includes(COMPLETED);
}

export type Role = 'staging' | 'primary' | 'mirror' | 'other';

/** Which request a path is: "manifest HEAD by tag", "blob GET", "upload PATCH", "mount", ... */
export function requestKind(method: string, uri: string, status: number): string {
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const query = q < 0 ? '' : uri.slice(q + 1);
  if (path === '/v2/' || path === '/v2') return 'ping';
  if (path === '/v2/_catalog') return 'catalog';
  let m = /\/manifests\/([^/]+)$/.exec(path);
  if (m) {
    const ref = decodeURIComponent(m[1]!);
    const what = ref.startsWith('sha256:') ? 'by digest' : /^sha256-[0-9a-f]{64}/.test(ref) ? 'by signature tag' : 'by tag';
    return `manifest ${method} ${what}`;
  }
  if (path.endsWith('/tags/list')) return 'tags/list';
  if (/\/referrers\/[^/]+$/.test(path)) return 'referrers';
  if (path.endsWith('/blobs/uploads/') || path.endsWith('/blobs/uploads')) {
    if (method === 'POST' && /(^|&)mount=/.test(query)) return status === 201 ? 'mount' : 'upload POST (mount declined)';
    return `upload ${method}`;
  }
  if (/\/blobs\/uploads\/[^/]+$/.test(path)) return `upload ${method}`;
  m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
  if (m) return `blob ${method}`;
  return `other ${method}`;
}

/** The repository a /v2/ path names ("" for ping and catalog). */
function repositoryOf(uri: string): string {
  const path = uri.split('?')[0]!;
  const m = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\//.exec(path);
  return m ? m[1]! : '';
}

/** The blob digest an upload completes with (`PUT .../uploads/<id>?digest=...`, or a monolithic POST). */
function uploadedDigest(method: string, uri: string, status: number): string | undefined {
  if (status !== 201 || (method !== 'PUT' && method !== 'POST') || !uri.includes('/blobs/uploads')) return undefined;
  const m = /[?&]digest=(sha256(?::|%3A)[0-9a-f]{64})/i.exec(uri);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

export interface Tally {
  requests: number;
  byKind: Record<string, number>;
  byHost: Record<string, number>;
  byRole: Record<string, number>;
  /** role -> kind -> requests */
  byRoleKind: Record<string, Record<string, number>>;
  byStatus: Record<string, number>;
  throttled: number;
  /** Response bytes of GETs (what the registries sent). */
  bytesDownloaded: number;
  /** Bytes of blobs whose upload completed, for blobs the workload generated (sizes known). */
  bytesUploaded: number;
  /** Completed blob uploads, known sizes or not (signatures and attestations are not in the workload). */
  blobUploads: number;
  /** Distinct repositories named by the requests. */
  repositories: number;
  /** Requests that name one digest (manifests by digest or signature tag, blobs, uploads, mounts, referrers). */
  perDigest: number;
  /** Requests that write (PUT, POST, PATCH, DELETE; mounts included). */
  writes: number;
  /** Most requests one registry host completed within one wall-clock second. */
  peakPerSecondByHost: Record<string, number>;
}

/** How many requests were in flight, as the client saw them, over a time window. */
export interface InFlight {
  windowMs: number;
  /** Request-milliseconds inside the window: the sum of every request's overlap with it. */
  busyMs: number;
  /** busyMs / windowMs: the time-averaged number of requests in flight. */
  mean: number;
  /** The most requests in flight at any one moment of the window. */
  peak: number;
}

const WRITE_KIND = /\b(PUT|POST|PATCH|DELETE)\b|^mount$/;

const PER_DIGEST = /^(manifest \S+ by (digest|signature tag)|blob |upload |mount|referrers)/;

class Column<T extends Float64Array | Uint16Array | Uint32Array | Int32Array> {
  data: T;
  constructor(private make: (n: number) => T) {
    this.data = make(1 << 16);
  }
  set(i: number, v: number): void {
    if (i >= this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = v;
  }
}

/** Interns strings as small numbers, for the columns. */
class Names {
  readonly list: string[] = [];
  private index = new Map<string, number>();
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

export class AccessLog {
  private rows = 0;
  /** When the registry completed the response (epoch ms) and how long it took (ms). */
  private at = new Column((n) => new Float64Array(n));
  private duration = new Column((n) => new Float64Array(n));
  private step = new Column((n) => new Uint16Array(n));
  private host = new Column((n) => new Uint16Array(n));
  private kind = new Column((n) => new Uint16Array(n));
  private role = new Column((n) => new Uint16Array(n));
  private repo = new Column((n) => new Uint32Array(n));
  private status = new Column((n) => new Uint16Array(n));
  private bytesOut = new Column((n) => new Uint32Array(n));
  private bytesIn = new Column((n) => new Uint32Array(n));
  private names = { host: new Names(), kind: new Names(), role: new Names(), repo: new Names() };
  private roleOfRepo = new Map<string, Role>();
  /** host -> the step its next lines belong to */
  private currentStep = new Map<string, number>();
  private markerWaiters: { host: string; step: number; resolve: () => void }[] = [];
  /** Lines that did not parse (should stay 0). */
  unparsed = 0;

  constructor(
    /** Repository name -> role, for repositories of the workload (others are "other"). */
    private classify: (repository: string) => Role,
    /** Sizes of the blobs the workload generated, to count uploaded bytes. */
    public blobSizes: ReadonlyMap<string, number>,
    /** What a delay proxy in front of every registry adds to each request (ms). */
    readonly delayMs = 0,
  ) {}

  /** Feed one request line of registry `host` (other lines are ignored, unparsable ones counted). */
  add(host: string, line: string): void {
    if (!isRequestLine(line)) return;
    let r: RequestLine;
    try {
      r = JSON.parse(line) as RequestLine;
    } catch {
      this.unparsed++;
      return;
    }
    const method = r['http.request.method'];
    const uri = r['http.request.uri'];
    const status = r['http.response.status'];
    const end = timeMs(r.time ?? '');
    const duration = goDurationMs(r['http.response.duration'] ?? '');
    if (!method || !uri || typeof status !== 'number' || !Number.isFinite(end) || !Number.isFinite(duration)) {
      this.unparsed++;
      return;
    }
    const marker = MARKER.exec(uri);
    if (marker) {
      const step = Number(marker[1]);
      this.currentStep.set(host, step);
      this.markerWaiters = this.markerWaiters.filter((w) => {
        if (w.host === host && w.step <= step) w.resolve();
        return !(w.host === host && w.step <= step);
      });
      return;
    }
    const repository = repositoryOf(uri);
    let role = this.roleOfRepo.get(repository);
    if (role === undefined) this.roleOfRepo.set(repository, (role = repository ? this.classify(repository) : 'other'));
    const uploaded = uploadedDigest(method, uri, status);
    const i = this.rows++;
    this.at.set(i, end);
    this.duration.set(i, duration);
    this.step.set(i, this.currentStep.get(host) ?? 0);
    this.host.set(i, this.names.host.id(host));
    this.kind.set(i, this.names.kind.id(requestKind(method, uri, status)));
    this.role.set(i, this.names.role.id(role));
    this.repo.set(i, this.names.repo.id(repository));
    this.status.set(i, status);
    this.bytesOut.set(i, method === 'GET' ? (r['http.response.written'] ?? 0) : 0);
    this.bytesIn.set(i, uploaded ? (this.blobSizes.get(uploaded) ?? 0) + 1 : 0); // +1: "an upload completed", size may be unknown
  }

  /** Resolves once `host` has logged the marker of `step` (or a later one). */
  markerSeen(host: string, step: number): Promise<void> {
    if ((this.currentStep.get(host) ?? -1) >= step) return Promise.resolve();
    return new Promise((resolve) => this.markerWaiters.push({ host, step, resolve }));
  }

  get size(): number {
    return this.rows;
  }

  /** Sums over the rows of `step`, optionally only those completed within [fromMs, toMs). */
  tally(step: number, window?: { fromMs: number; toMs: number }): Tally {
    const t: Tally = {
      requests: 0,
      byKind: {},
      byHost: {},
      byRole: {},
      byRoleKind: {},
      byStatus: {},
      throttled: 0,
      bytesDownloaded: 0,
      bytesUploaded: 0,
      blobUploads: 0,
      repositories: 0,
      perDigest: 0,
      writes: 0,
      peakPerSecondByHost: {},
    };
    const repos = new Set<number>();
    const perSecond = new Map<string, Map<number, number>>(); // host -> second -> requests
    const steps = this.step.data,
      at = this.at.data,
      kinds = this.kind.data,
      hosts = this.host.data,
      roles = this.role.data,
      statuses = this.status.data;
    for (let i = 0; i < this.rows; i++) {
      if (steps[i] !== step) continue;
      if (window && (at[i]! < window.fromMs || at[i]! >= window.toMs)) continue;
      const kind = this.names.kind.list[kinds[i]!]!;
      const host = this.names.host.list[hosts[i]!]!;
      const role = this.names.role.list[roles[i]!]!;
      const status = statuses[i]!;
      t.requests++;
      t.byKind[kind] = (t.byKind[kind] ?? 0) + 1;
      t.byHost[host] = (t.byHost[host] ?? 0) + 1;
      t.byRole[role] = (t.byRole[role] ?? 0) + 1;
      const rk = (t.byRoleKind[role] ??= {});
      rk[kind] = (rk[kind] ?? 0) + 1;
      const sc = `${Math.floor(status / 100)}xx`;
      t.byStatus[sc] = (t.byStatus[sc] ?? 0) + 1;
      if (status === 429) t.throttled++;
      t.bytesDownloaded += this.bytesOut.data[i]!;
      const up = this.bytesIn.data[i]!;
      if (up > 0) {
        t.blobUploads++;
        t.bytesUploaded += up - 1;
      }
      if (PER_DIGEST.test(kind)) t.perDigest++;
      if (WRITE_KIND.test(kind)) t.writes++;
      repos.add(this.repo.data[i]!);
      let seconds = perSecond.get(host);
      if (!seconds) perSecond.set(host, (seconds = new Map<number, number>()));
      const second = Math.floor(at[i]! / 1000);
      seconds.set(second, (seconds.get(second) ?? 0) + 1);
    }
    t.repositories = repos.size;
    for (const [host, seconds] of perSecond) t.peakPerSecondByHost[host] = Math.max(...seconds.values());
    return t;
  }

  /**
   * Requests in flight during [fromMs, toMs) among the rows of `step`, each from its start as the
   * client saw it (completion - registry time - delay) to its completion.
   */
  inFlight(step: number, window: { fromMs: number; toMs: number }): InFlight {
    const windowMs = Math.max(0, window.toMs - window.fromMs);
    const starts: number[] = [];
    const ends: number[] = [];
    let busyMs = 0;
    for (let i = 0; i < this.rows; i++) {
      if (this.step.data[i] !== step) continue;
      const end = Math.min(this.at.data[i]!, window.toMs);
      const start = Math.max(this.at.data[i]! - this.duration.data[i]! - this.delayMs, window.fromMs);
      if (end <= start) continue;
      busyMs += end - start;
      starts.push(start);
      ends.push(end);
    }
    starts.sort((a, b) => a - b);
    ends.sort((a, b) => a - b);
    // Sweep: one that ends at the moment another starts does not overlap it.
    let peak = 0;
    for (let s = 0, e = 0, open = 0; s < starts.length;) {
      if (e < ends.length && ends[e]! <= starts[s]!) {
        open--;
        e++;
      } else {
        open++;
        s++;
        peak = Math.max(peak, open);
      }
    }
    return { windowMs, busyMs, mean: windowMs > 0 ? busyMs / windowMs : 0, peak };
  }

  /** First and last completion time of the rows of a step (ms since the epoch), or undefined when empty. */
  span(step: number): { firstMs: number; lastMs: number } | undefined {
    let first = Infinity;
    let last = -Infinity;
    for (let i = 0; i < this.rows; i++) {
      if (this.step.data[i] !== step) continue;
      first = Math.min(first, this.at.data[i]!);
      last = Math.max(last, this.at.data[i]!);
    }
    return first === Infinity ? undefined : { firstMs: first, lastMs: last };
  }
}
