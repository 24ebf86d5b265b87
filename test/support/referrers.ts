// Referrers as a build tool attaches them to a staging image (an SBOM, a provenance document, a
// signature bundle): a manifest with a `subject`, pushed by the referrers API or into the fallback
// index, whichever the registry speaks.
import { OCI_EMPTY, OCI_EMPTY_DIGEST, OCI_MANIFEST, Referrers, sha256Digest, type RegistryClient, type RepositoryRef } from '../../lib/oci';
import type { SeededImage } from '../../scripts/dev/seed-images';

/** Attach an artifact of `artifactType` to `image` in `repo`; returns the referrer's digest. */
export async function attach(client: RegistryClient, repo: RepositoryRef, image: SeededImage, artifactType: string, body: string): Promise<string> {
  const layer = new TextEncoder().encode(body);
  const empty = new TextEncoder().encode('{}');
  await client.uploadBlob(repo.host, repo.repository, { digest: OCI_EMPTY_DIGEST, size: empty.length }, empty);
  await client.uploadBlob(repo.host, repo.repository, { digest: sha256Digest(layer), size: layer.length }, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [{ mediaType: artifactType, digest: sha256Digest(layer), size: layer.length }],
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    annotations: { 'org.opencontainers.image.created': '2026-11-29T00:00:00Z' },
  };
  const { digest } = await new Referrers(client).push(repo, new TextEncoder().encode(JSON.stringify(manifest)), OCI_MANIFEST);
  return digest;
}
