// The worker's transport settings, read from its environment (lib/config.ts).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config';

describe('transport settings in the worker configuration', () => {
  it('defaults: any host but the special addresses, a 10-minute Retry-After cap', () => {
    const c = loadConfig({});
    expect(c.allowedRegistries).toEqual([]);
    expect(c.maxRetryAfterMs).toBe(600_000);
  });

  it('reads the host globs and the cap in seconds', () => {
    const c = loadConfig({ PROMOTER_ALLOWED_REGISTRIES: 'registry.k8s.io, *.pkg.dev,127.0.0.1:*', PROMOTER_MAX_RETRY_AFTER: '30' });
    expect(c.allowedRegistries).toEqual(['registry.k8s.io', '*.pkg.dev', '127.0.0.1:*']);
    expect(c.maxRetryAfterMs).toBe(30_000);
  });

  it('refuses a bad glob or cap at start-up, naming the variable', () => {
    expect(() => loadConfig({ PROMOTER_ALLOWED_REGISTRIES: 'https://registry.k8s.io' })).toThrow(/PROMOTER_ALLOWED_REGISTRIES: comma-separated host globs/);
    expect(() => loadConfig({ PROMOTER_MAX_RETRY_AFTER: '-1' })).toThrow(/PROMOTER_MAX_RETRY_AFTER/);
  });
});
