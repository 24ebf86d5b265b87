/**
 * The registry operations the phases need, over the OCI client. One client per worker: its
 * per-host budget, token cache and blob cache are shared by every activity the worker runs.
 */
import type { Logger } from 'pino';
import type { PromoterConfig } from '../lib/config';
import { BlobCache, copyImage, OciError, RegistryClient } from '../lib/oci';
import type { CopyTask } from '../lib/run/plan';
import type { RepoRef, TransferCounts } from '../lib/run/types';

export interface TagOutcome {
  tag: string;
  result: 'written' | 'present' | 'tag-move' | 'error';
  currentDigest?: string;
  code?: string;
  error?: string;
}

export interface CopyOutcome {
  transfer: TransferCounts;
  tags: TagOutcome[];
}

export interface RegistryOps {
  client: RegistryClient;
  ping(host: string): Promise<void>;
  /** HEAD a manifest by tag or digest: its digest, or undefined when absent. */
  manifestDigest(repo: RepoRef, reference: string): Promise<string | undefined>;
  listTags(repo: RepoRef): Promise<string[]>;
  /** Copy one image by digest, then set its tags; never moves a tag. */
  copy(task: CopyTask): Promise<CopyOutcome>;
  totalRequests(): number;
}

export function createRegistryOps(config: PromoterConfig, _log: Logger): RegistryOps {
  const client = RegistryClient.fromDockerConfig({
    insecureRegistries: config.insecureRegistries,
    limits: { default: { requestsPerSecond: config.limits.requestsPerSecond, burst: config.limits.burst, concurrency: config.limits.concurrency } },
  });
  return registryOpsFor(client);
}

export function registryOpsFor(client: RegistryClient): RegistryOps {
  const blobCache = new BlobCache();
  const ref = (r: RepoRef, reference: string) =>
    reference.startsWith('sha256:') ? { host: r.host, repository: r.repository, digest: reference } : { host: r.host, repository: r.repository, tag: reference };

  return {
    client,
    ping: (host) => client.ping(host),
    manifestDigest: async (r, reference) => (await client.headManifest(ref(r, reference)))?.digest,
    listTags: (r) => client.listTags(r.host, r.repository),
    totalRequests: () => Object.values(client.stats()).reduce((n, s) => n + s.total, 0),

    async copy(task) {
      const result = await copyImage(client, { host: task.source.host, repository: task.source.repository, digest: task.digest }, task.destination, { blobCache });
      const transfer: TransferCounts = {
        blobsUploaded: result.blobsUploaded,
        blobsMounted: result.blobsMounted,
        blobsSkipped: result.blobsSkipped,
        bytesUploaded: result.bytesUploaded,
        manifestsWritten: result.manifestsWritten,
        requests: 0,
      };
      const tags: TagOutcome[] = [];
      if (task.tags.length > 0) {
        const manifest = await client.getManifest(ref(task.destination, task.digest));
        for (const tag of task.tags) tags.push(await setTag(client, task.destination, tag, manifest));
      }
      return { transfer, tags };
    },
  };
}

/** Tag last, and only if the tag is absent or already ours: re-checked right before the write. */
async function setTag(client: RegistryClient, dst: RepoRef, tag: string, manifest: { digest: string; mediaType: string; bytes: Uint8Array }): Promise<TagOutcome> {
  try {
    const current = await client.headManifest({ host: dst.host, repository: dst.repository, tag });
    if (current?.digest === manifest.digest) return { tag, result: 'present' };
    if (current) return { tag, result: 'tag-move', currentDigest: current.digest };
    await client.putManifest({ host: dst.host, repository: dst.repository, tag }, manifest.bytes, manifest.mediaType);
    return { tag, result: 'written' };
  } catch (err) {
    const e = err as OciError;
    return { tag, result: 'error', code: e.code ?? 'ERROR', error: e.message };
  }
}
