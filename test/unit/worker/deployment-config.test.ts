// The worker's deployment settings: build ids, and the new variables as the config schema reads them.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config';
import { buildIdentity, buildIdOf } from '../../../worker/build-identity';

const HASH = 'ab12cd34'.repeat(8);

describe('build ids', () => {
  it('are BUILD_ID when given, else version and commit, marked dirty with the source hash, else version and source hash', () => {
    expect(buildIdOf('1.2.3', { env: 'release-7', git: { commit: 'f'.repeat(40), dirty: true }, sourceHash: HASH })).toBe('release-7');
    expect(buildIdOf('1.2.3', { git: { commit: '0123456789abcdef0123', dirty: false }, sourceHash: HASH })).toBe('1.2.3-0123456789ab');
    expect(buildIdOf('1.2.3', { git: { commit: '0123456789abcdef0123', dirty: true }, sourceHash: HASH })).toBe('1.2.3-0123456789ab-dirty-ab12cd34');
    expect(buildIdOf('1.2.3', { sourceHash: HASH })).toBe('1.2.3-src-ab12cd34ab12');
  });

  it('come from PROMOTER_BUILD_ID first; the deployment is the package unless named', () => {
    expect(buildIdentity({ buildId: 'v9' })).toEqual({ deploymentName: 'promoter', buildId: 'v9' });
    expect(buildIdentity({ deploymentName: 'promoter-eu', buildId: 'v9' }).deploymentName).toBe('promoter-eu');
    // From the sources (this test): version and the checkout's commit.
    expect(buildIdentity().buildId).toMatch(/^0\.1\.0-([0-9a-f]{12}(-dirty)?|dev)$/);
  });
});

describe('worker configuration', () => {
  it('is unversioned, with a 10 s grace time and no tracing, by default', () => {
    const c = loadConfig({});
    expect(c.deployment).toEqual({ versioning: false, name: undefined, buildId: undefined });
    expect(c.shutdownGraceTime).toBe('10s');
    expect(c.tracing).toEqual({ endpoint: undefined, serviceName: 'promoter-worker' });
  });

  it('reads versioning, the grace time and the OTLP endpoint (an empty one is none)', () => {
    const c = loadConfig({
      PROMOTER_WORKER_VERSIONING: 'on',
      PROMOTER_DEPLOYMENT_NAME: 'p',
      PROMOTER_BUILD_ID: 'b',
      PROMOTER_SHUTDOWN_GRACE_TIME: '500ms',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    expect(c.deployment).toEqual({ versioning: true, name: 'p', buildId: 'b' });
    expect(c.shutdownGraceTime).toBe('500ms');
    expect(c.tracing.endpoint).toBe('http://collector:4318');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }).tracing.endpoint).toBe(
      'http://c:4318/v1/traces',
    );
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing.endpoint).toBeUndefined();
  });

  it('refuses what it cannot read, naming the variable', () => {
    expect(() => loadConfig({ PROMOTER_WORKER_VERSIONING: 'yes' })).toThrow(/PROMOTER_WORKER_VERSIONING/);
    expect(() => loadConfig({ PROMOTER_SHUTDOWN_GRACE_TIME: 'soon' })).toThrow(/PROMOTER_SHUTDOWN_GRACE_TIME: a duration such as 30s/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});
