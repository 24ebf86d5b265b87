// What the transport tells its observers: counts per host and method, retries, throttling, events.
import { describe, expect, it } from 'vitest';
import { TransportObserver, type RequestEvent } from '../../../lib/oci/observe';

describe('TransportObserver', () => {
  it('counts every exchange under its host, and reports each one once it is answered', () => {
    let now = 0;
    const o = new TransportObserver(() => now);
    const events: RequestEvent[] = [];
    const stop = o.onRequest((e) => events.push(e));
    const label = { host: 'reg.example', method: 'GET', operation: 'GET manifest', path: '/v2/a/manifests/v1' };
    const first = o.started(label, false);
    now += 30;
    first(429, new Headers({ 'retry-after': '2' }));
    o.started(label, true)(200);
    o.started({ ...label, host: 'auth.example', operation: 'token request' }, false)(0);
    expect(o.stats()).toEqual({
      'reg.example': { total: 2, byMethod: { GET: 2 }, retries: 1, throttled: 1 },
      'auth.example': { total: 1, byMethod: { GET: 1 }, retries: 0, throttled: 0 },
    });
    expect(events.map((e) => [e.host, e.status, e.durationMs, e.retryAfterMs])).toEqual([
      ['reg.example', 429, 30, 2000],
      ['reg.example', 200, 0, undefined],
      ['auth.example', 0, 0, undefined],
    ]);
    stop();
    o.started(label, false)(200);
    expect(events).toHaveLength(3);
    expect(o.stats()['reg.example']!.total).toBe(3);
  });
});
