import { describe, expect, it } from 'vitest';
import {
  SLSA_PROVENANCE_V1,
  inTotoStatement,
  loadSigningKey,
  loadVerificationKeys,
  parseSlsaProvenance,
  parseStatement,
  signDsseBundle,
  sourceUnderPrefix,
  verifySlsaProvenance,
} from '../../../lib/signing';
import { DIGEST_A, fixture, fixtureDigest, p256Pair } from './helpers';

const cosignKeys = loadVerificationKeys([fixture('cosign.pub').toString()]);
const BUILDER = 'https://github.com/actions/runner';
const SOURCE = 'git+https://github.com/kubernetes/';
const policy = () => ({ digest: fixtureDigest(), keys: cosignKeys, builders: [BUILDER], sources: [SOURCE] });

describe('verifySlsaProvenance on cosign v3.1.3 attestations', () => {
  it('accepts the bundle from `cosign attest --type slsaprovenance1` (statement v0.1 inside)', () => {
    const r = verifySlsaProvenance(fixture('slsa.bundle.json'), policy());
    expect(r).toMatchObject({ ok: true, builderId: BUILDER });
    expect(r.sourceUris).toContain('git+https://github.com/kubernetes/kubernetes@refs/heads/main');
  });

  it('accepts the legacy .att DSSE envelope', () => {
    expect(verifySlsaProvenance(fixture('legacy-att.envelope.json'), policy())).toMatchObject({ ok: true, builderId: BUILDER });
  });

  it('rejects with another key, digest, builder or source', () => {
    const other = loadVerificationKeys([p256Pair().publicPem]);
    for (const input of [fixture('slsa.bundle.json'), fixture('legacy-att.envelope.json')]) {
      expect(verifySlsaProvenance(input, { ...policy(), keys: other }).ok).toBe(false);
      expect(verifySlsaProvenance(input, { ...policy(), digest: DIGEST_A }).reason).toMatch(/subject does not name/);
      expect(verifySlsaProvenance(input, { ...policy(), builders: ['https://other/builder'] }).reason).toMatch(/builder .* not allowed/);
      expect(verifySlsaProvenance(input, { ...policy(), sources: ['git+https://github.com/evil/'] }).reason).toMatch(/is not under an allowed prefix/);
    }
  });

  it('rejects a tampered envelope payload', () => {
    const env = JSON.parse(fixture('legacy-att.envelope.json').toString());
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
    st.predicate.runDetails.builder.id = 'https://evil/builder';
    env.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    expect(verifySlsaProvenance(env, { ...policy(), builders: ['https://evil/builder'] }).ok).toBe(false);
  });
});

describe('verifySlsaProvenance on our own bundles', () => {
  const key = loadSigningKey({ pem: p256Pair().privatePem });
  const keys = loadVerificationKeys([key.publicKeyPem]);
  const predicate = JSON.parse(fixture('slsa-predicate.json').toString());

  it('accepts an allowed builder and source, with empty lists meaning "any"', async () => {
    const bundle = await signDsseBundle(key, inTotoStatement([{ name: 'x', digest: { sha256: 'a'.repeat(64) } }], SLSA_PROVENANCE_V1, predicate));
    expect(verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [BUILDER], sources: [SOURCE] }).ok).toBe(true);
    expect(verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: [] }).ok).toBe(true);
  });

  it('rejects another predicate type', async () => {
    const bundle = await signDsseBundle(key, inTotoStatement([{ digest: { sha256: 'a'.repeat(64) } }], 'https://slsa.dev/provenance/v0.2', predicate));
    expect(verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: [] }).reason).toMatch(/predicateType/);
  });

  it('does not take free-form parameters as a source', async () => {
    const p = structuredClone(predicate);
    p.buildDefinition.resolvedDependencies = [];
    p.buildDefinition.externalParameters = { note: 'git+https://github.com/kubernetes/looks-fine' };
    const st = inTotoStatement([{ digest: { sha256: 'a'.repeat(64) } }], SLSA_PROVENANCE_V1, p);
    expect(parseSlsaProvenance(st).sourceUris).toEqual([]);
    const bundle = await signDsseBundle(key, st);
    expect(verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: [SOURCE] }).ok).toBe(false);
  });

  it('reads GitHub Actions workflow.repository as a source', () => {
    const st = inTotoStatement([], SLSA_PROVENANCE_V1, {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: { workflow: { repository: 'https://github.com/kubernetes/kubernetes', path: '.github/workflows/x.yml' } },
      },
      runDetails: { builder: { id: BUILDER } },
    });
    expect(parseSlsaProvenance(st).sourceUris).toEqual(['https://github.com/kubernetes/kubernetes']);
  });

  it('does not take a dependency as the source: a foreign fork with one allowed library fails', async () => {
    const p = structuredClone(predicate);
    p.buildDefinition.externalParameters = { source: 'git+https://github.com/attacker/fork@refs/heads/main' };
    p.buildDefinition.resolvedDependencies = [
      { uri: 'git+https://github.com/attacker/fork@refs/heads/main', digest: { gitCommit: 'b'.repeat(40) } },
      { uri: `${SOURCE}apimachinery@v0.31.0`, digest: { gitCommit: 'c'.repeat(40) } },
    ];
    const st = inTotoStatement([{ digest: { sha256: 'a'.repeat(64) } }], SLSA_PROVENANCE_V1, p);
    expect(parseSlsaProvenance(st).sourceUris).toEqual(['git+https://github.com/attacker/fork@refs/heads/main']);
    const bundle = await signDsseBundle(key, st);
    const v = verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: [SOURCE] });
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/attacker\/fork/);
  });

  it('needs every recorded source parameter under an allowed prefix', async () => {
    const p = structuredClone(predicate);
    p.buildDefinition.externalParameters = { source: `${SOURCE}kubernetes@refs/heads/main`, workflow: { repository: 'https://github.com/attacker/fork' } };
    const bundle = await signDsseBundle(key, inTotoStatement([{ digest: { sha256: 'a'.repeat(64) } }], SLSA_PROVENANCE_V1, p));
    expect(verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: [SOURCE] }).ok).toBe(false);
  });

  it('a source prefix without a trailing slash names one repository: repo-evil is not under repo', async () => {
    const p = structuredClone(predicate);
    p.buildDefinition.externalParameters = { source: 'git+https://github.com/kubernetes/kubernetes-evil@refs/heads/main' };
    const bundle = await signDsseBundle(key, inTotoStatement([{ digest: { sha256: 'a'.repeat(64) } }], SLSA_PROVENANCE_V1, p));
    const v = verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: ['git+https://github.com/kubernetes/kubernetes'] });
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/kubernetes-evil@refs\/heads\/main is not under an allowed prefix/);
    expect(verifySlsaProvenance(bundle, { digest: DIGEST_A, keys, builders: [], sources: ['git+https://github.com/kubernetes/'] }).ok).toBe(true);
  });

  it('parseStatement refuses non in-toto documents', () => {
    expect(() => parseStatement('{"_type":"x","subject":[],"predicateType":"p"}')).toThrow(/_type/);
  });
});

describe('sourceUnderPrefix: allowed sources match at a path boundary', () => {
  const REPO = 'git+https://github.com/kubernetes/release';
  it.each([
    // The forms builders write: GitHub Actions, Cloud Build, with .git, with a subdirectory.
    [REPO, REPO],
    [REPO, `${REPO}@refs/heads/main`],
    [REPO, `${REPO}@refs/tags/v0.18.0`],
    [REPO, `${REPO}.git`],
    [REPO, `${REPO}.git@refs/heads/main`],
    [REPO, `${REPO}#images/build`],
    [REPO, `${REPO}?ref=main`],
    [REPO, `${REPO}/sub/dir`],
    ['https://github.com/kubernetes/release', 'https://github.com/kubernetes/release'],
    ['git+https://github.com/kubernetes/', `${REPO}@refs/heads/main`],
    [`${REPO}@refs/heads/main`, `${REPO}@refs/heads/main`],
    [`${REPO}@refs/heads/main`, `${REPO}@refs/heads/main#sub`],
    ['git+ssh://git@github.com/kubernetes/release', 'git+ssh://git@github.com/kubernetes/release@refs/heads/main'],
  ])('%s admits %s', (prefix, uri) => {
    expect(sourceUnderPrefix(uri, prefix)).toBe(true);
  });

  it.each([
    [REPO, `${REPO}-evil`],
    [REPO, `${REPO}-evil@refs/heads/main`],
    [REPO, `${REPO}evil`],
    [REPO, `${REPO}.github.io`],
    [REPO, `${REPO}.gitx`],
    [REPO, `${REPO}.git-evil`],
    [REPO, `${REPO}_evil`],
    [REPO, `${REPO}/../../attacker/release`],
    [REPO, `${REPO}/./x`],
    ['git+https://github.com/kubernetes/', 'git+https://github.com/kubernetes/../attacker/release'],
    ['git+https://github.com/kubernetes/', 'git+https://github.com/kubernetes-sigs/x'],
    ['git+https://github.com/kubernetes', 'git+https://github.com/kubernetes-attacker/x'],
    [`${REPO}@refs/heads/main`, `${REPO}@refs/heads/main-evil`],
    [`${REPO}@refs/heads/main`, `${REPO}@refs/heads/main/evil`],
    [REPO, 'git+https://github.com/attacker/release'],
    ['', REPO],
  ])('%s does not admit %s', (prefix, uri) => {
    expect(sourceUnderPrefix(uri, prefix)).toBe(false);
  });
});
