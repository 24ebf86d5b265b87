// The benches count requests from distribution's request log: lines as docker-registry 2.8 writes
// them (JSON at level info), markers that split steps, the request kinds every tool is compared
// by, and how many requests were in flight.
import { describe, expect, it } from 'vitest';
import { AccessLog, goDurationMs, requestKind, timeMs } from '../../../scripts/bench/common/access-log';

const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z'); // nanosecond digits, as distribution writes
const ms = (n: number): string => `${n}ms`;

/** A "response completed" line that ended at `end` (epoch ms) after `duration`. */
function line(method: string, uri: string, status: number, o: { written?: number; end?: number; duration?: string } = {}): string {
  return JSON.stringify({
    'go.version': 'go1.19.8',
    'http.request.host': '127.0.0.1:5999',
    'http.request.method': method,
    'http.request.uri': uri,
    'http.request.useragent': 'promoter/0.1',
    'http.response.duration': o.duration ?? '1.1002ms',
    'http.response.status': status,
    'http.response.written': o.written ?? 0,
    level: status >= 400 ? 'error' : 'info',
    msg: status >= 400 ? 'response completed with error' : 'response completed',
    time: iso(o.end ?? T0),
  });
}
const hex = 'a'.repeat(64);

describe('requestKind', () => {
  it('names manifests by what they ask for, and tells mounts from uploads', () => {
    expect(requestKind('HEAD', `/v2/p/app/manifests/v1.0.0`, 200)).toBe('manifest HEAD by tag');
    expect(requestKind('GET', `/v2/p/app/manifests/sha256:${hex}`, 200)).toBe('manifest GET by digest');
    expect(requestKind('PUT', `/v2/p/app/manifests/sha256-${hex}.sig`, 201)).toBe('manifest PUT by signature tag');
    expect(requestKind('GET', `/v2/p/app/manifests/sha256-${hex}`, 404)).toBe('manifest GET by signature tag');
    expect(requestKind('POST', `/v2/p/app/blobs/uploads/?mount=sha256:${hex}&from=p/other`, 201)).toBe('mount');
    expect(requestKind('POST', `/v2/p/app/blobs/uploads/?mount=sha256:${hex}`, 202)).toBe('upload POST (mount declined)');
    expect(requestKind('PATCH', '/v2/p/app/blobs/uploads/0f3c?_state=x', 202)).toBe('upload PATCH');
    expect(requestKind('HEAD', `/v2/p/app/blobs/sha256:${hex}`, 404)).toBe('blob HEAD');
    expect(requestKind('GET', '/v2/p/app/tags/list', 200)).toBe('tags/list');
    expect(requestKind('GET', `/v2/p/app/referrers/sha256:${hex}`, 404)).toBe('referrers');
    expect(requestKind('GET', '/v2/', 200)).toBe('ping');
  });
});

describe('the log fields', () => {
  it('reads Go durations and nanosecond timestamps', () => {
    expect(goDurationMs('884.88µs')).toBeCloseTo(0.88488, 6);
    expect(goDurationMs('13.679132ms')).toBeCloseTo(13.679132, 6);
    expect(goDurationMs('1m2.5s')).toBe(62_500);
    expect(goDurationMs('120ns')).toBeCloseTo(0.00012, 8);
    expect(goDurationMs('fast')).toBeNaN();
    expect(timeMs('2026-12-03T08:43:17.567398423Z')).toBeCloseTo(Date.UTC(2026, 11, 3, 8, 43, 17, 567) + 0.398, 3);
    expect(timeMs('2026-12-03T09:43:17+01:00')).toBe(Date.UTC(2026, 11, 3, 8, 43, 17));
    expect(timeMs('yesterday')).toBeNaN();
  });
});

describe('AccessLog', () => {
  it('puts each line in the step of the last marker its registry logged, with roles, bytes, writes and 429s', async () => {
    const log = new AccessLog((repo) => (repo.startsWith('staging/') ? 'staging' : 'mirror'), new Map([[`sha256:${hex}`, 1234]]));
    log.add('a', line('GET', '/v2/staging/app/tags/list', 200, { written: 40 })); // before any marker: step 0
    const seen = log.markerSeen('a', 1);
    log.add('a', line('GET', '/v2/?bench-step=1', 200, { written: 2 }));
    await seen;
    log.add('a', line('HEAD', `/v2/m/app/manifests/v1`, 429));
    log.add('a', line('PUT', `/v2/m/app/blobs/uploads/0f3c?_state=x&digest=sha256%3A${hex}`, 201));
    log.add('b', line('GET', `/v2/staging/app/blobs/sha256:${hex}`, 200, { written: 1234 })); // b has seen no marker yet
    log.add('a', '{"level":"info","msg":"listening on 127.0.0.1:5999","time":"2026-11-29T10:07:46Z"}'); // not a request
    log.add('a', '{"msg":"response completed", truncated');

    const one = log.tally(1);
    expect(one.requests).toBe(2);
    expect(one.throttled).toBe(1);
    expect(one.byRole).toEqual({ mirror: 2 });
    expect(one.bytesUploaded).toBe(1234);
    expect(one.blobUploads).toBe(1);
    expect(one.perDigest).toBe(1);
    expect(one.writes).toBe(1);
    const zero = log.tally(0);
    expect(zero.requests).toBe(2);
    expect(zero.byHost).toEqual({ a: 1, b: 1 });
    expect(zero.bytesDownloaded).toBe(1274);
    expect(zero.writes).toBe(0);
    expect(log.unparsed).toBe(1);
  });

  it('finds the busiest second of each host (the budget check with several workers)', () => {
    const log = new AccessLog(() => 'mirror', new Map());
    const at = (second: number, ms = 0): number => T0 + second * 1000 + ms;
    for (let i = 0; i < 5; i++) log.add('a', line('GET', '/v2/m/app/tags/list', 200, { end: at(1, i * 100) }));
    for (let i = 0; i < 3; i++) log.add('a', line('GET', '/v2/m/app/tags/list', 200, { end: at(2, i * 100) }));
    log.add('b', line('GET', '/v2/m/app/tags/list', 200, { end: at(2) }));
    expect(log.tally(0).peakPerSecondByHost).toEqual({ a: 5, b: 1 });
  });

  it("counts requests in flight from each one's duration plus the proxy delay, clipped to the window", () => {
    // Three requests behind a 10 ms delay: [0, 20), [10, 30) and [40, 50) as the client saw them.
    const log = new AccessLog(() => 'mirror', new Map(), 10);
    log.add('a', line('GET', '/v2/m/app/tags/list', 200, { end: T0 + 20, duration: ms(10) }));
    log.add('a', line('GET', '/v2/m/app/tags/list', 200, { end: T0 + 30, duration: ms(10) }));
    log.add('b', line('GET', '/v2/m/app/tags/list', 200, { end: T0 + 50, duration: '0s' }));
    const whole = log.inFlight(0, { fromMs: T0, toMs: T0 + 100 });
    expect(whole.busyMs).toBeCloseTo(20 + 20 + 10, 6);
    expect(whole.mean).toBeCloseTo(0.5, 6);
    expect(whole.peak).toBe(2);
    // A window that cuts the first two: [15, 20) and [15, 30) overlap, the third is outside.
    const cut = log.inFlight(0, { fromMs: T0 + 15, toMs: T0 + 35 });
    expect(cut.busyMs).toBeCloseTo(5 + 15, 6);
    expect(cut.mean).toBeCloseTo(1, 6);
    expect(cut.peak).toBe(2);
    expect(log.inFlight(1, { fromMs: T0, toMs: T0 + 100 })).toEqual({ windowMs: 100, busyMs: 0, mean: 0, peak: 0 });
    // Back to back is not overlapping: [0, 20) and [20, 30).
    const chain = new AccessLog(() => 'mirror', new Map(), 10);
    chain.add('a', line('GET', '/v2/m/app/tags/list', 200, { end: T0 + 20, duration: ms(10) }));
    chain.add('a', line('GET', '/v2/m/app/tags/list', 200, { end: T0 + 30, duration: '0s' }));
    expect(chain.inFlight(0, { fromMs: T0, toMs: T0 + 30 })).toMatchObject({ mean: 1, peak: 1 });
  });
});
