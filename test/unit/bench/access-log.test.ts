// The shape bench counts requests from distribution's access log: lines as docker-registry 2.8
// writes them, markers that split steps, and the request kinds both tools are compared by.
import { describe, expect, it } from 'vitest';
import { AccessLog, requestKind } from '../../../scripts/bench/shape/access-log';

const line = (method: string, uri: string, status: number, bytes = 0): string =>
  `127.0.0.1 - - [29/Nov/2026:10:07:46 +0000] "${method} ${uri} HTTP/1.1" ${status} ${bytes} "" "promoter/0.1"`;
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

describe('AccessLog', () => {
  it('puts each line in the step of the last marker its registry logged, with roles, bytes and 429s', async () => {
    const log = new AccessLog((repo) => (repo.startsWith('staging/') ? 'staging' : 'mirror'), new Map([[`sha256:${hex}`, 1234]]));
    log.add('a', line('GET', '/v2/staging/app/tags/list', 200, 40)); // before any marker: step 0
    const seen = log.markerSeen('a', 1);
    log.add('a', line('GET', '/v2/?bench-step=1', 200, 2));
    await seen;
    log.add('a', line('HEAD', `/v2/m/app/manifests/v1`, 429));
    log.add('a', line('PUT', `/v2/m/app/blobs/uploads/0f3c?_state=x&digest=sha256%3A${hex}`, 201));
    log.add('b', line('GET', `/v2/staging/app/blobs/sha256:${hex}`, 200, 1234)); // b has seen no marker yet
    log.add('a', 'time="2026-11-29T10:07:46Z" level=error msg="not an access-log line"');

    const one = log.tally(1);
    expect(one.requests).toBe(2);
    expect(one.throttled).toBe(1);
    expect(one.byRole).toEqual({ mirror: 2 });
    expect(one.bytesUploaded).toBe(1234);
    expect(one.blobUploads).toBe(1);
    expect(one.perDigest).toBe(1);
    const zero = log.tally(0);
    expect(zero.requests).toBe(2);
    expect(zero.byHost).toEqual({ a: 1, b: 1 });
    expect(zero.bytesDownloaded).toBe(1274);
    expect(log.unparsed).toBe(1);
  });

  it('finds the busiest second of each host (the budget check with several workers)', () => {
    const log = new AccessLog(() => 'mirror', new Map());
    const at = (second: number, ms = 0): number => Date.UTC(2026, 10, 29, 10, 0, second, ms);
    for (let i = 0; i < 5; i++) log.add('a', line('GET', '/v2/m/app/tags/list', 200), at(1, i * 100));
    for (let i = 0; i < 3; i++) log.add('a', line('GET', '/v2/m/app/tags/list', 200), at(2, i * 100));
    log.add('b', line('GET', '/v2/m/app/tags/list', 200), at(2));
    expect(log.tally(0).peakPerSecondByHost).toEqual({ a: 5, b: 1 });
  });
});
