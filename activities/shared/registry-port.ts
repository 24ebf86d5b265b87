/**
 * The registry operations the phases need: the activities' only door to registries. One instance
 * per worker, so its per-host budget, token cache, blob cache and knowledge of which hosts serve the
 * referrers API are shared by every activity the worker runs.
 */
import type { Logger } from 'pino';
import type { PromoterConfig } from '../../lib/config';
import { BlobBytes, BlobCache, copyImage, copyReferrers, ManifestCache, RegistryClient, type Descriptor, type DigestRef, type RepositoryRef, type RequestListener, type RequestStats } from '../../lib/oci';
import type { SignedSubject } from '../../lib/run/documents';
import type { CopyTask } from '../../lib/run/plan';
import type { TransferCounts } from '../../lib/run/outcomes';
import {
  isBundleReferrer, isSignatureBundle, SignatureStore, SignatureWriter, type CopySignaturesResult, type FoundSignatures, type ImageSignatureVerification, type KeylessTrust,
  type ProvenancePolicy, type ProvenanceVerdict, type RepoListing, type VerificationKey, type WriteOutcome, type WriteRequest,
} from '../../lib/signing';

export interface TagOutcome {
  tag: string;
  result: 'written' | 'present' | 'tag-move';
  currentDigest?: string;
}

export interface CopyOutcome {
  transfer: TransferCounts;
  tags: TagOutcome[];
  /** The fallback tag written for the source's referrers (a destination without the referrers API). */
  fallbackTag?: string;
}

export interface RegistryOps {
  ping(host: string): Promise<void>;
  /** HEAD a manifest by tag or digest: its digest, or undefined when absent. */
  manifestDigest(repo: RepositoryRef, reference: string): Promise<string | undefined>;
  listTags(repo: RepositoryRef): Promise<string[]>;
  /** The child manifests of an index (empty for a single image). */
  childDigests(target: DigestRef): Promise<string[]>;
  /** An image as it is stored, with an index's children: what signatures name as their subjects. */
  manifestTree(target: DigestRef): Promise<{ image: SignedSubject; children: SignedSubject[] }>;
  /** Whether the repository's registry serves the OCI 1.1 referrers API (asked once per host). */
  servesReferrersApi(repo: RepositoryRef): Promise<boolean>;
  /** Write signatures and attestations the promoter made into a repository (lib/signing/signature-writer.ts). */
  writeSignatures(repo: RepositoryRef, req: WriteRequest, listed: RepoListing): Promise<WriteOutcome>;
  /** Copy one image by digest, then set its tags; never moves a tag. */
  copy(task: CopyTask, opts?: { assumeAbsent?: boolean }): Promise<CopyOutcome>;

  findSignatures(target: DigestRef): Promise<FoundSignatures>;
  verifySignatures(target: DigestRef, trust: { keys?: VerificationKey[]; keyless?: KeylessTrust }, found?: FoundSignatures): Promise<ImageSignatureVerification>;
  findProvenance(target: DigestRef, found?: FoundSignatures): Promise<{ source: string; document: Buffer }[]>;
  verifyProvenance(target: DigestRef, policy: Omit<ProvenancePolicy, 'digest'>, found?: FoundSignatures): Promise<ProvenanceVerdict & { source?: string }>;
  copySignatures(from: DigestRef, to: RepositoryRef, found?: FoundSignatures): Promise<CopySignaturesResult>;

  /** Requests sent per host and method so far. */
  stats(): RequestStats;
  totalRequests(): number;
  /** Observe every HTTP exchange (metrics, benchmarks); returns the unsubscribe. */
  onRequest(listener: RequestListener): () => void;
  /** This worker's part of every registry's budget (1/N with N workers on the task queue). */
  setBudgetShare(share: number): void;
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
  const manifestCache = new ManifestCache();
  const blobBytes = new BlobBytes();
  const signatures = new SignatureStore(client);
  // Signatures share the copies' blob knowledge: what one repository of a host holds, another mounts.
  const writer = new SignatureWriter(client, signatures.referrers, blobCache);
  // The source's referrers of a digest, listed once per worker for all its destinations.
  const sourceReferrers = new Map<string, Promise<Descriptor[]>>();
  const referrersOf = (src: DigestRef): Promise<Descriptor[]> => {
    const key = `${src.host}/${src.repository}@${src.digest}`;
    let found = sourceReferrers.get(key);
    if (!found) {
      found = signatures.referrers.list(src, src.digest).then((all) => withoutSignatures(src, all));
      found.catch(() => sourceReferrers.delete(key)); // a failed listing is asked again
      sourceReferrers.set(key, found);
    }
    return found;
  };
  // The source's own signatures stay behind: Validate verified them, and what the promoter
  // promotes carries the promoter's signature (a staging key is not the production trust).
  // Everything else the build attached (SBOMs, provenance and other attestations) goes along.
  const withoutSignatures = async (src: DigestRef, all: Descriptor[]): Promise<Descriptor[]> => {
    const keep: Descriptor[] = [];
    for (const d of all) {
      // An index entry without annotations: the referrer manifest itself says what it is.
      const annotations = isBundleReferrer(d) && !d.annotations ? (JSON.parse(Buffer.from((await client.getManifest({ ...src, digest: d.digest })).bytes).toString('utf8')) as { annotations?: Record<string, string> }).annotations : d.annotations;
      if (!isSignatureBundle(d, annotations)) keep.push(d);
    }
    return keep;
  };
  const ref = (r: RepositoryRef, reference: string) =>
    reference.startsWith('sha256:') ? { host: r.host, repository: r.repository, digest: reference } : { host: r.host, repository: r.repository, tag: reference };

  return {
    ping: (host) => client.ping(host),
    manifestDigest: async (r, reference) => (await client.headManifest(ref(r, reference)))?.digest,
    listTags: (r) => client.listTags(r.host, r.repository),
    async childDigests(target) {
      const m = JSON.parse(Buffer.from((await client.getManifest(target)).bytes).toString('utf8')) as { manifests?: { digest: string }[] };
      return (m.manifests ?? []).map((c) => c.digest);
    },
    async manifestTree(target) {
      const m = await client.getManifest(target);
      const doc = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as { manifests?: SignedSubject[] };
      return {
        image: { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length },
        children: (doc.manifests ?? []).map((c) => ({ digest: c.digest, mediaType: c.mediaType, size: c.size })),
      };
    },
    writeSignatures: (repo, req, listed) => writer.write(repo, req, listed),
    servesReferrersApi: (repo) => signatures.referrers.hasApi(repo),

    async copy(task, opts = {}) {
      const src = { host: task.source.host, repository: task.source.repository, digest: task.digest };
      // Tags last, each re-checked right before its write; a tag pointing elsewhere is never moved.
      const found = await referrersOf(src);
      const caches = { blobCache, manifestCache, blobBytes, assumeAbsent: opts.assumeAbsent };
      // With referrers: the image, then its referrers (a fallback index may only list manifests the
      // registry holds), then the tags, so that a tag shows the image with everything it carries.
      const result = found.length === 0 ? await copyImage(client, src, task.destination, { ...caches, tags: task.tags }) : await copyImage(client, src, task.destination, caches);
      const refs = await copyReferrers(client, signatures.referrers, src, task.destination, found, caches);
      if (found.length > 0) {
        const tagged = await copyImage(client, src, task.destination, { ...caches, assumeAbsent: false, tags: task.tags });
        Object.assign(result, { tagsWritten: tagged.tagsWritten, tagsPresent: tagged.tagsPresent, tagMoves: tagged.tagMoves });
      }
      const transfer: TransferCounts = {
        blobsUploaded: result.blobsUploaded + refs.blobsUploaded,
        blobsMounted: result.blobsMounted + refs.blobsMounted,
        blobsSkipped: result.blobsSkipped,
        bytesUploaded: result.bytesUploaded + refs.bytesUploaded,
        manifestsWritten: result.manifestsWritten + refs.manifestsWritten,
        referrersCopied: refs.copied,
        requests: 0,
      };
      const tags: TagOutcome[] = [
        ...result.tagsWritten.map((tag) => ({ tag, result: 'written' as const })),
        ...result.tagsPresent.map((tag) => ({ tag, result: 'present' as const })),
        ...result.tagMoves.map((m) => ({ tag: m.tag, result: 'tag-move' as const, currentDigest: m.currentDigest })),
      ];
      return { transfer, tags, ...(refs.fallbackTag ? { fallbackTag: refs.fallbackTag } : {}) };
    },

    findSignatures: (target) => signatures.findSignatures(target),
    verifySignatures: (target, trust, found) => signatures.verifyImageSignatures(target, trust, found),
    findProvenance: (target, found) => signatures.findProvenance(target, found),
    verifyProvenance: (target, policy, found) => signatures.verifyImageProvenance(target, policy, found),
    copySignatures: (from, to, found) => signatures.copySignatures(from, to, found),

    stats: () => client.stats(),
    totalRequests: () => Object.values(client.stats()).reduce((n, s) => n + s.total, 0),
    onRequest: (listener) => client.transport.onRequest(listener),
    setBudgetShare: (share) => client.transport.setBudgetShare(share),
  };
}
