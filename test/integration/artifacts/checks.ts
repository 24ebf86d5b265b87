// What a user checks on a promoted OCI artifact, with the clients users run: cosign verifies the
// promoter's signatures and attestation, crane validates the artifact, regctl reads its manifest
// and lists its referrers (the promoter's signature and attestation bundles among them).
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  PROMOTION_PREDICATE_TYPE,
  SIGSTORE_BUNDLE_V03,
  VSA_PREDICATE_TYPE,
} from '../../../lib/signing';
import { COSIGN_OFFLINE, runCosign } from '../../support/cosign';
import { runToolOk } from '../../support/interop';
import { stack } from '../../support/stack-env';

export interface ReferrerEntry {
  digest: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** cosign verifies both signature formats of `ref` (host/repo@digest), and the promotion attestation. */
export async function expectCosignVerifies(ref: string): Promise<void> {
  const s = stack();
  const env = { DOCKER_CONFIG: s.dockerConfigDir };
  for (const extra of [[], ['--new-bundle-format=false']]) {
    const r = await runCosign(['verify', '--key', s.publicKeyPath, ...extra, ...COSIGN_OFFLINE.verify, ref], env);
    expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
  }
  const att = await runCosign(['verify-attestation', '--key', s.publicKeyPath, '--type', PROMOTION_PREDICATE_TYPE, ...COSIGN_OFFLINE.verify, ref], env);
  expect(att.code, `${att.command}\n${att.stderr}`).toBe(0);
}

/** crane validates the artifact in place (manifest, config and every layer against their digests). */
export async function expectCraneValidates(ref: string): Promise<void> {
  const r = await runToolOk('crane', ['validate', '--remote', ref]);
  expect(`${r.stdout}${r.stderr}`).toContain(`PASS: ${ref}`);
}

/** The manifest regctl reads at `ref`, checked against its digest. */
export async function regctlManifest(ref: string, digest: string): Promise<Record<string, unknown>> {
  const raw = (await runToolOk('regctl', ['manifest', 'get', ref, '--format', 'raw-body'])).stdout;
  expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`, `regctl manifest get ${ref}`).toBe(digest);
  return JSON.parse(raw) as Record<string, unknown>;
}

/** The referrers regctl lists for `ref` (through the referrers API or the tag fallback, as the registry serves them). */
export async function regctlReferrers(ref: string): Promise<ReferrerEntry[]> {
  const out = (await runToolOk('regctl', ['artifact', 'list', ref, '--format', '{{json .Manifest.Manifests}}'])).stdout.trim();
  return (JSON.parse(out || '[]') ?? []) as ReferrerEntry[];
}

/** The promoter's signature, promotion attestation and verification summary are the bundle referrers regctl lists. */
export function expectPromoterReferrers(referrers: ReferrerEntry[], where: string): void {
  const types = referrers.filter((r) => r.artifactType === SIGSTORE_BUNDLE_V03).map((b) => b.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION]);
  expect(types.sort(), `${where}: ${JSON.stringify(referrers)}`).toEqual([COSIGN_SIGN_PREDICATE_TYPE, PROMOTION_PREDICATE_TYPE, VSA_PREDICATE_TYPE].sort());
}
