import { describe, expect, it } from 'vitest';
import { Transport, USER_AGENT } from '../../../lib/oci/transport';

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
    const t = new Transport();
    await expect(t.request({ host: 'registry.example.com', method: 'GET', path: 'http://registry.example.com/v2/', scopes: [], operation: 'ping' })).rejects.toMatchObject({ code: 'INSECURE' });
    expect(t.stats()).toEqual({});
  });

  it('identifies itself as promoter/<version>', () => {
    expect(USER_AGENT).toMatch(/^promoter\/\d+\.\d+\.\d+/);
  });
});
