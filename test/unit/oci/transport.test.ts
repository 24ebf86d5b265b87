import { describe, expect, it } from 'vitest';
import { Transport, USER_AGENT } from '../../../lib/oci/transport';

describe('Transport scheme choice', () => {
  it('uses HTTPS except for loopback hosts and hosts configured insecure', () => {
    const t = new Transport({ insecureRegistries: ['reg.internal:5000'] });
    expect(t.baseUrl('registry.k8s.io')).toBe('https://registry.k8s.io');
    expect(t.baseUrl('127.0.0.1:5001')).toBe('http://127.0.0.1:5001');
    expect(t.baseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(t.baseUrl('reg.internal:5000')).toBe('http://reg.internal:5000');
    expect(t.baseUrl('reg.internal:5001')).toBe('https://reg.internal:5001');
    expect(t.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
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
