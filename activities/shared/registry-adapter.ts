/**
 * The registry port over our OCI client (lib/oci) and signature store (lib/signing): a thin
 * adapter, one per worker, holding what every activity of the worker shares: the per-host budget
 * and tokens (in the client), which repositories hold which blobs, small source blobs and
 * manifests read once for all destinations, and the source referrers of the digests being copied.
 */
import type { PromoterConfig } from '../../lib/config';
import {
  BlobBytes,
  BlobCache,
  copyWithReferrers,
  isIndexMediaType,
  isOciError,
  legacyAttestationTag,
  ManifestCache,
  RegistryClient,
  type DigestRef,
  type Manifest,
  type RequestListener,
  type RequestStats,
} from '../../lib/oci';
import { SignatureStore, SignatureWriter, SourceReferrers } from '../../lib/signing';
import type { ManifestTree, RegistryPort } from './registry-port';

/** What the worker, its metrics and the bench read and steer; the activities never see it. */
export interface RegistryTelemetry {
  /** Requests sent per host and method so far. */
  stats(): RequestStats;
  totalRequests(): number;
  /** Observe every HTTP exchange (metrics, benchmarks); returns the unsubscribe. */
  onRequest(listener: RequestListener): () => void;
  /** This worker's part of every registry's budget (1/N with N workers on the task queue). */
  setBudgetShare(share: number): void;
}

export interface Registry {
  port: RegistryPort;
  telemetry: RegistryTelemetry;
}

/** The worker's registries: credentials from its Docker config, the per-host budget from its configuration. */
/** A manifest and, when it is an index, the children it lists. */
function treeOf(m: Manifest): ManifestTree {
  const doc = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as { manifests?: { digest: string; mediaType: string; size: number }[] };
  return {
    image: { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length },
    children: (doc.manifests ?? []).map((c) => ({ digest: c.digest, mediaType: c.mediaType, size: c.size })),
  };
}

export function createRegistry(config: PromoterConfig): Registry {
  const client = RegistryClient.fromDockerConfig({
    insecureRegistries: config.insecureRegistries,
    allowedRegistries: config.allowedRegistries,
    retry: { maxRetryAfterMs: config.maxRetryAfterMs },
    limits: { default: { requestsPerSecond: config.limits.requestsPerSecond, burst: config.limits.burst, concurrency: config.limits.concurrency } },
  });
  const blobCache = new BlobCache();
  const manifestCache = new ManifestCache();
  const blobBytes = new BlobBytes();
  const signatures = new SignatureStore(client);
  // Signatures share the copies' blob knowledge: what one repository of a host holds, another mounts.
  const writer = new SignatureWriter(client, signatures.referrers, blobCache);
  const sourceReferrers = new SourceReferrers(
    (src) => signatures.referrers.list(src, src.digest),
    async (ref) => (await client.getManifest(ref)).bytes,
    async (src) => {
      try {
        const m = await client.getManifest({ host: src.host, repository: src.repository, tag: legacyAttestationTag(src.digest) });
        manifestCache.set(src.host, src.repository, m);
        return { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes };
      } catch (err) {
        if (isOciError(err, 'MANIFEST_UNKNOWN') || isOciError(err, 'NAME_UNKNOWN')) return undefined;
        throw err;
      }
    },
  );
  // What the source attached to a digest and, for an index, to each child: the copy carries it.
  // Both asked at once: each is a round trip to the source before the copy can start.
  const attachedTo = async (src: DigestRef) => {
    const [referrers, legacyAttestation] = await Promise.all([sourceReferrers.of(src), sourceReferrers.legacyAttestationOf(src)]);
    return { referrers, legacyAttestation };
  };
  const childrenOf = async (src: DigestRef): Promise<string[]> => {
    const m = await manifestCache.getOrRead(src.host, src.repository, src.digest, () => client.getManifest(src));
    return isIndexMediaType(m.mediaType) ? treeOf(m).children.map((c) => c.digest) : [];
  };
  const ref = ({ host, repository }: { host: string; repository: string }, reference: string) =>
    reference.startsWith('sha256:') ? { host, repository, digest: reference } : { host, repository, tag: reference };

  const port: RegistryPort = {
    ping: (host) => client.ping(host),
    listTags: (r) => client.listTags(r.host, r.repository),
    manifestDigest: async (r, reference) => (await client.headManifest(ref(r, reference)))?.digest,
    manifestTree: async (target) => treeOf(await client.getManifest(target)),
    servesReferrersApi: (repo) => signatures.referrers.hasApi(repo),

    async copy(task, opts = {}) {
      const src = { host: task.source.host, repository: task.source.repository, digest: task.digest };
      const [{ referrers, legacyAttestation }, childDigests] = await Promise.all([attachedTo(src), childrenOf(src)]);
      const children = await Promise.all(childDigests.map(async (digest) => ({ digest, ...(await attachedTo({ ...src, digest })) })));
      const caches = { blobCache, manifestCache, blobBytes, assumeAbsent: opts.assumeAbsent };
      return copyWithReferrers(client, signatures.referrers, src, task.destination, {
        tags: task.tags,
        referrers,
        ...(legacyAttestation ? { legacyAttestation } : {}),
        children: children.map((c) => ({
          digest: c.digest,
          referrers: c.referrers,
          ...(c.legacyAttestation ? { legacyAttestation: c.legacyAttestation } : {}),
        })),
        ...caches,
      });
    },

    findSignatures: (target) => signatures.findSignatures(target),
    findProvenance: (target, found) => signatures.findProvenance(target, found),
    verifySignatures: (target, trust, found) => signatures.verifyImageSignatures(target, trust, found),
    verifyProvenance: (target, policy, found) => signatures.verifyImageProvenance(target, policy, found),
    writeSignatures: (repo, req) => writer.write(repo, req),
  };
  const telemetry: RegistryTelemetry = {
    stats: () => client.stats(),
    totalRequests: () => Object.values(client.stats()).reduce((n, s) => n + s.total, 0),
    onRequest: (listener) => client.transport.onRequest(listener),
    setBudgetShare: (share) => client.transport.setBudgetShare(share),
  };
  return { port, telemetry };
}
