import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci/client';
import { Transport, USER_AGENT } from '../../../lib/oci/transport';
import { closeAll, json, serve } from './servers';

describe('Transport scheme choice', () => {
  it('uses HTTPS, without asking, for every host that may not speak plain HTTP', async () => {
    const t = new Transport({ insecureRegistries: ['reg.internal:5000'] });
    expect(await t.baseUrl('registry.k8s.io')).toBe('https://registry.k8s.io');
    expect(await t.baseUrl('reg.internal:5001')).toBe('https://reg.internal:5001');
    expect(await t.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
    expect(t.allowHttp('127.0.0.1:5001')).toBe(true);
    expect(t.allowHttp('localhost:5000')).toBe(true);
    expect(t.allowHttp('reg.internal:5000')).toBe(true);
    expect(t.allowHttp('reg.internal:5001')).toBe(false);
  });

  it('refuses a plain-HTTP URL handed back for a non-loopback host', async () => {
    const t = new Transport({ allowedRegistries: [] }); // the default allow-list, whatever the environment says
    await expect(
      t.request({ host: 'registry.example.com', method: 'GET', path: 'http://registry.example.com/v2/', scopes: [], operation: 'ping' }),
    ).rejects.toMatchObject({ code: 'INSECURE' });
    expect(t.stats()).toEqual({});
  });

  it('identifies itself as promoter/<version>', () => {
    expect(USER_AGENT).toMatch(/^promoter\/\d+\.\d+\.\d+/);
  });
});

describe('Transport Retry-After, registry and token requests alike', () => {
  afterEach(closeAll);

  it('a Retry-After of a day fails the request at once and pauses the host for the cap only, without spinning', async () => {
    let throttle = true;
    const r = await serve((req, res) => {
      req.resume();
      if (throttle) return json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS' }] }, { 'Retry-After': '86400' });
      json(res, 200, {});
    });
    const client = new RegistryClient({ allowedRegistries: ['127.0.0.1:*'], retry: { maxRetryAfterMs: 400 } });
    const t0 = Date.now();
    await expect(client.ping(r.host)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', retryable: true, retryAfterMs: 86_400_000 });
    expect(Date.now() - t0).toBeLessThan(300);
    throttle = false;
    const cpu = process.cpuUsage();
    await client.ping(r.host);
    const waited = Date.now() - t0;
    const spent = process.cpuUsage(cpu);
    expect(waited).toBeGreaterThanOrEqual(390);
    expect(waited).toBeLessThan(5000);
    expect((spent.user + spent.system) / 1000).toBeLessThan(200); // a busy loop would burn the whole wait
    expect(r.seen).toHaveLength(2);
  });

  it('a token server asking for a day is treated the same: failed at once, retryable, carrying the delay', async () => {
    const r = await serve((req, res) => {
      req.resume();
      if (req.url?.startsWith('/token')) return json(res, 429, {}, { 'Retry-After': '86400' });
      json(res, 401, {}, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="r"` });
    });
    const client = new RegistryClient({ allowedRegistries: ['127.0.0.1:*'], retry: { maxRetryAfterMs: 1000 } });
    const t0 = Date.now();
    await expect(client.ping(r.host)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', retryable: true, retryAfterMs: 86_400_000 });
    expect(Date.now() - t0).toBeLessThan(900);
    expect(r.seen.map((s) => s.path.split('?')[0])).toEqual(['/v2/', '/token']);
  });
});
