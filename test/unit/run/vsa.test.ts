// The verification summary builder (lib/run/vsa.ts): the SLSA VSA v1 fields from what Provenance
// and Validate recorded, the levels each outcome earns, and a policy digest that follows the
// policy's content, not its key order.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, DEFAULT_PROVENANCE_POLICY, DEFAULT_SIGNATURE_POLICY, type ProvenancePolicy, type SignaturePolicy } from '../../../lib/manifests';
import { policyDigest, policyPasses, verificationSummaryStatement, type CheckRecord, type VsaInput } from '../../../lib/run/vsa';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const PROV_REF = `sha256:${'b'.repeat(64)}`;
const SIG_REF = `sha256:${'c'.repeat(64)}`;

function input(over: { provenance?: Partial<ProvenancePolicy>; signatures?: Partial<SignaturePolicy>; prov?: CheckRecord; sig?: CheckRecord } = {}): VsaInput {
  return {
    subjectName: 'prod.example/p/app',
    digest: DIGEST,
    resourceUri: `prod.example/p/app@${DIGEST}`,
    verifierId: 'https://promoter.example/worker@v1',
    policy: {
      uri: 's3://audit/inputs/x.json#manifests/p/promoter-manifest.yaml',
      provenance: { ...DEFAULT_PROVENANCE_POLICY, ...over.provenance },
      signatures: { ...DEFAULT_SIGNATURE_POLICY, ...over.signatures },
    },
    sourceRepository: 'staging.example/s/app',
    ...(over.prov ? { provenance: over.prov } : {}),
    ...(over.sig ? { signatures: over.sig } : {}),
    time: new Date('2026-03-01T00:00:00Z'),
  };
}
const rec = (status: CheckRecord['status'], at: string, inputs?: string[]): CheckRecord => ({ project: 'p', status, at, ...(inputs ? { inputs } : {}) });

describe('verificationSummaryStatement', () => {
  it('carries every field of the VSA v1 predicate: verifier, time, resource, policy digest, inputs, result, level', () => {
    const i = input({
      provenance: { mode: 'require', builders: ['https://github.com/actions/runner'] },
      signatures: { mode: 'require' },
      prov: rec('passed', '2026-03-01T10:00:00.000Z', [PROV_REF]),
      sig: rec('passed', '2026-03-01T10:00:05.000Z', [SIG_REF]),
    });
    const s = verificationSummaryStatement(i);
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.predicateType).toBe('https://slsa.dev/verification_summary/v1');
    expect(s.subject).toEqual([{ name: 'prod.example/p/app', digest: { sha256: 'a'.repeat(64) } }]);
    const digest = createHash('sha256')
      .update(canonicalJson({ provenance: i.policy.provenance, signatures: i.policy.signatures }))
      .digest('hex');
    expect(s.predicate).toEqual({
      verifier: { id: 'https://promoter.example/worker@v1' },
      timeVerified: '2026-03-01T10:00:05.000Z', // the later check: verified once both were done
      resourceUri: `prod.example/p/app@${DIGEST}`,
      policy: { uri: 's3://audit/inputs/x.json#manifests/p/promoter-manifest.yaml', digest: { sha256: digest } },
      inputAttestations: [
        { uri: `staging.example/s/app@${PROV_REF}`, digest: { sha256: 'b'.repeat(64) } },
        { uri: `staging.example/s/app@${SIG_REF}`, digest: { sha256: 'c'.repeat(64) } },
      ],
      verificationResult: 'PASSED',
      verifiedLevels: ['SLSA_BUILD_LEVEL_2'],
      slsaVersion: '1.0',
    });
  });

  it('levels: 2 with an allowed builder, 1 when any builder is allowed, 0 when provenance is missing, invalid under warn, or not checked', () => {
    const at = '2026-03-01T10:00:00.000Z';
    const level = (i: VsaInput) => verificationSummaryStatement(i).predicate.verifiedLevels;
    expect(level(input({ provenance: { mode: 'require', builders: ['b'] }, prov: rec('passed', at, [PROV_REF]) }))).toEqual(['SLSA_BUILD_LEVEL_2']);
    expect(level(input({ provenance: { mode: 'require', builders: [] }, prov: rec('passed', at, [PROV_REF]) }))).toEqual(['SLSA_BUILD_LEVEL_1']);
    expect(level(input({ provenance: { mode: 'warn' }, prov: rec('missing', at) }))).toEqual(['SLSA_BUILD_LEVEL_0']);
    expect(level(input({ provenance: { mode: 'warn' }, prov: rec('failed', at) }))).toEqual(['SLSA_BUILD_LEVEL_0']);
    const off = verificationSummaryStatement(input({ provenance: { mode: 'off' }, signatures: { mode: 'off' } }));
    expect(off.predicate).toMatchObject({
      verifiedLevels: ['SLSA_BUILD_LEVEL_0'],
      verificationResult: 'PASSED',
      inputAttestations: [],
      timeVerified: '2026-03-01T00:00:00.000Z',
    });
  });

  it('FAILED where the policy refuses the digest (require without evidence, if-present with a bad signature)', () => {
    const at = '2026-03-01T10:00:00.000Z';
    for (const i of [
      input({ provenance: { mode: 'require' }, prov: rec('missing', at) }),
      input({ signatures: { mode: 'if-present' }, sig: rec('failed', at) }),
      input({ signatures: { mode: 'require' }, sig: rec('missing', at) }),
    ]) {
      expect(verificationSummaryStatement(i).predicate).toMatchObject({ verificationResult: 'FAILED', verifiedLevels: ['FAILED'] });
    }
    expect(verificationSummaryStatement(input({ signatures: { mode: 'if-present' }, sig: rec('missing', at) })).predicate.verificationResult).toBe('PASSED');
  });

  it('the policy digest follows the content: key order does not change it, a key or mode does', () => {
    const p = { ...DEFAULT_PROVENANCE_POLICY, mode: 'require' as const, builders: ['x'] };
    const reordered = Object.fromEntries(Object.entries(p).reverse()) as unknown as ProvenancePolicy;
    expect(policyDigest(reordered, DEFAULT_SIGNATURE_POLICY)).toBe(policyDigest(p, DEFAULT_SIGNATURE_POLICY));
    expect(policyDigest({ ...p, mode: 'warn' }, DEFAULT_SIGNATURE_POLICY)).not.toBe(policyDigest(p, DEFAULT_SIGNATURE_POLICY));
    expect(policyDigest(p, { ...DEFAULT_SIGNATURE_POLICY, keys: ['-----BEGIN PUBLIC KEY-----'] })).not.toBe(policyDigest(p, DEFAULT_SIGNATURE_POLICY));
  });

  it('refuses a digest or an input that is not sha256, and an invalid time', () => {
    expect(() => verificationSummaryStatement({ ...input(), digest: 'sha256:zz' })).toThrow();
    expect(() => verificationSummaryStatement(input({ prov: rec('passed', '2026-03-01T10:00:00Z', ['md5:1']) }))).toThrow();
    expect(() => verificationSummaryStatement(input({ prov: rec('passed', 'yesterday') }))).toThrow(/invalid time/);
  });

  it('policyPasses follows the modes: require needs a pass, if-present tolerates missing, warn and off pass all', () => {
    expect([policyPasses('require', 'passed'), policyPasses('require', 'missing'), policyPasses('require', 'failed')]).toEqual([true, false, false]);
    expect([policyPasses('if-present', 'missing'), policyPasses('if-present', 'failed')]).toEqual([true, false]);
    expect([policyPasses('warn', 'failed'), policyPasses('off', 'failed'), policyPasses('require', undefined)]).toEqual([true, true, true]);
  });
});
