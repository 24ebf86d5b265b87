/**
 * The registry operations the phases need, over the OCI client. One client per worker: its
 * per-host budget, token cache and blob cache are shared by every activity the worker runs.
 */
import type { Logger } from 'pino';
import type { PromoterConfig } from '../lib/config';
import { BlobCache, copyImage, isOciError, RegistryClient, type CopyResult, type TagMove } from '../lib/oci';
import type { CopyTask } from '../lib/run/plan';
import type { RepoRef, TransferCounts } from '../lib/run/types';

export interface TagOutcome {
  tag: string;
  result: 'written' | 'present' | 'tag-move';
  currentDigest?: string;
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
  copy(task: CopyTask, opts?: { assumeAbsent?: boolean }): Promise<CopyOutcome>;
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

    async copy(task, opts = {}) {
      const src = { host: task.source.host, repository: task.source.repository, digest: task.digest };
      let result: CopyResult;
      let moves: TagMove[] = [];
      try {
        // Tags last, each re-checked right before its write; a tag pointing elsewhere is never moved.
        result = await copyImage(client, src, task.destination, { blobCache, tags: task.tags, assumeAbsent: opts.assumeAbsent });
      } catch (err) {
        if (!isOciError(err, 'TAG_MOVE')) throw err;
        const detail = err.detail as { moves: TagMove[]; result: CopyResult };
        moves = detail.moves;
        result = detail.result;
      }
      const transfer: TransferCounts = {
        blobsUploaded: result.blobsUploaded,
        blobsMounted: result.blobsMounted,
        blobsSkipped: result.blobsSkipped,
        bytesUploaded: result.bytesUploaded,
        manifestsWritten: result.manifestsWritten,
        requests: 0,
      };
      const tags: TagOutcome[] = [
        ...result.tagsWritten.map((tag) => ({ tag, result: 'written' as const })),
        ...result.tagsPresent.map((tag) => ({ tag, result: 'present' as const })),
        ...moves.map((m) => ({ tag: m.tag, result: 'tag-move' as const, currentDigest: m.currentDigest })),
      ];
      return { transfer, tags };
    },
  };
}
