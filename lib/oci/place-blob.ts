// Putting a small blob we hold in memory into a repository with as few requests as a registry
// allows: nothing when it is known to be there, one mount when another repository on the same
// host holds it, else an upload (a declined mount's session is reused for it). No existence
// check first: uploading a blob the registry already has is harmless, and a HEAD would cost as
// much as the mount it replaces.
import type { BlobCache } from './blob-cache';
import type { RegistryClient } from './client';
import { sha256Digest } from './digest';
import type { RepositoryRef } from './reference';

export type Placement = 'known' | 'mounted' | 'uploaded';

export async function placeBlob(
  client: RegistryClient,
  cache: BlobCache,
  repo: RepositoryRef,
  bytes: Uint8Array,
  digest = sha256Digest(bytes),
): Promise<Placement> {
  const { host, repository } = repo;
  if (cache.has(host, repository, digest)) return 'known';
  // One transfer of a blob to a host at a time: concurrent writers of a shared blob (the empty
  // config every referrer carries) wait for the first, then mount it.
  return cache.exclusive(host, digest, async () => {
    if (cache.has(host, repository, digest)) return 'known';
    let session: string | undefined;
    const from = cache.reposWith(host, digest).find((r) => r !== repository);
    if (from) {
      const r = await client.mountOrStartUpload(host, repository, digest, from);
      if (r.mounted) {
        cache.add(host, repository, digest);
        return 'mounted';
      }
      cache.forget(host, from, digest); // the registry says it is not there after all
      session = r.location;
    }
    await client.uploadBlob(host, repository, { digest, size: bytes.length }, bytes, session);
    cache.add(host, repository, digest);
    return 'uploaded';
  });
}
