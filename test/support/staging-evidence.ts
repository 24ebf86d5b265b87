// What a release process leaves next to an image in staging, made for real by lib/signing and
// written into the fake registry the way cosign writes it: a signature (`.sig` and/or a bundle
// referrer) and a DSSE-signed SLSA provenance v1 attestation.
import type { RepositoryRef } from '../../lib/oci';
import { inTotoStatement, KeySigner, signDsseBundle, SLSA_PROVENANCE_V1, type SignatureFormat, type SigningKey } from '../../lib/signing';
import type { FakeRegistry } from './fake-registry';

export const BUILDER = 'https://github.com/actions/runner';
const SOURCE_REPO = 'git+https://github.com/kubernetes/kubernetes@refs/heads/main';
const CREATED = '2026-01-01T00:00:00Z';

async function subjectOf(registry: FakeRegistry, repo: RepositoryRef, digest: string) {
  return (await registry.manifestTree({ ...repo, digest })).image;
}

/** The image signed by `key` in `format`, as `cosign sign` would leave it. */
export async function signInStaging(registry: FakeRegistry, repo: RepositoryRef, digest: string, key: SigningKey, format: SignatureFormat): Promise<void> {
  const set = await new KeySigner(key, format).signImage({ dockerReference: `${repo.host}/${repo.repository}`, digest });
  await registry.writeSignatures(repo, { subject: await subjectOf(registry, repo, digest), set });
}

/** A SLSA provenance v1 statement about the image, DSSE-signed by `key`, attached as a bundle referrer. */
export async function attachProvenance(
  registry: FakeRegistry,
  repo: RepositoryRef,
  digest: string,
  key: SigningKey,
  build: { builder?: string; source?: string } = {},
): Promise<void> {
  const source = build.source ?? SOURCE_REPO;
  const predicate = {
    buildDefinition: {
      buildType: 'https://example.com/build/v1',
      externalParameters: { source },
      resolvedDependencies: [{ uri: source, digest: { gitCommit: 'abc' } }],
    },
    runDetails: { builder: { id: build.builder ?? BUILDER }, metadata: { invocationId: '1' } },
  };
  const statement = inTotoStatement(
    [{ name: `${repo.host}/${repo.repository}`, digest: { sha256: digest.slice('sha256:'.length) } }],
    SLSA_PROVENANCE_V1,
    predicate,
  );
  const bundle = await signDsseBundle(key, statement);
  await registry.writeSignatures(repo, { subject: await subjectOf(registry, repo, digest), attestations: [{ bundle, created: CREATED }] });
}
