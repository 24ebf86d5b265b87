// An in-memory registry behind the registry port (activities/shared/registry-port.ts), for
// activity tests that run without the dev stack. It holds repositories (manifests by digest, blobs,
// tags, referrers by subject) and implements the port for real: a copy puts the whole manifest tree
// and the source's referrers (not its signatures) at the destination, a tag never moves, what
// writeSignatures writes is found by findSignatures and verified by the real lib/signing
// verifiers. Referrers are listed as a client sees them: by subject where the host serves the
// referrers API, else from the `sha256-<hex>` fallback index alone (a referrer no index lists is
// invisible there). It records every call, what was copied and written, and injects errors, 429s,
// hangs (before or after the call did its work) and tag moves. The tags writers share (`.sig`, the
// fallback index) are updated by lib/oci/shared-tag.ts as the real writer updates them, and another
// writer can be made to act between its read and its write, or between its write and its read-back;
// a host honours conditional writes unless it is listed in `unconditionalHosts`.
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  OciError,
  fallbackIndexUpdate,
  mergeAttestationManifest,
  referrerDescriptor,
  repositoryKey,
  sha256Digest,
  updateSharedTag,
  withReferrers,
  type Descriptor,
  type DigestRef,
  type RepositoryRef,
  type SharedTag,
  type TagOutcome,
} from '../../lib/oci';
import type { CopyTask } from '../../lib/run/plan';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  SIGSTORE_BUNDLE_V03,
  SLSA_PROVENANCE_V1,
  attestationTag,
  buildBundleReferrer,
  isBundleReferrer,
  legacyLayerOf,
  mergeSignatureArtifact,
  referrersFallbackTag,
  signatureTag,
  verifyBundle,
  verifyCosignSignature,
  verifySlsaProvenance,
  withoutSignatures,
  type FoundSignatures,
  type ImageSignatureVerification,
  type OciArtifact,
  type SignatureLayer,
  type StoredManifest,
  type WriteOutcome,
  type WriteRequest,
} from '../../lib/signing';
import type { CopyOutcome, ManifestTree, ProvenanceCandidate, RegistryPort, SignatureTrust } from '../../activities/shared/registry-port';

interface Repo {
  manifests: Map<string, StoredManifest>;
  blobs: Map<string, Buffer>;
  tags: Map<string, string>;
}

export type PortOperation = keyof RegistryPort;

/**
 * A fault the next matching calls meet: an error, a 429, or a call that never returns (a worker
 * dying mid-call): `hang` before the call did anything, `hang-after` once it has done its work (a
 * worker that died right after the registry took its write; copy and writeSignatures only).
 */
export interface Fault {
  op: PortOperation;
  /** Only calls about this repository (`host/repository`) or host; any when unset. */
  where?: string;
  fault: 'throttle' | 'hang' | 'hang-after' | Error;
  /** How many calls meet it (default 1; Infinity for all). */
  times?: number;
}

/**
 * Another writer acting on a shared tag while writeSignatures updates it: `before-write` runs right
 * after the writer read the tag and before it writes (a concurrent merge it must not overwrite),
 * `after-write` right after its write and before it reads back (a writer that replaced the tag
 * without merging).
 */
export interface Interloper {
  repo: RepositoryRef;
  tag: string;
  when: 'before-write' | 'after-write';
  act: (fake: FakeRegistry) => void;
  /** How many writes of the tag meet it (default 1). */
  times?: number;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const never = (): Promise<never> => new Promise<never>(() => {});
const parse = <T>(m: StoredManifest): T => JSON.parse(m.bytes.toString('utf8')) as T;
const descriptorOf = (m: StoredManifest) => ({ digest: m.digest, mediaType: m.mediaType, size: m.bytes.length });

export class FakeRegistry implements RegistryPort {
  private readonly repos = new Map<string, Repo>();
  private readonly faults: (Fault & { left: number })[] = [];
  private readonly interlopers: (Interloper & { left: number })[] = [];
  /** Hosts that serve the referrers API; the others get the `sha256-<hex>` fallback index. */
  readonly apiHosts = new Set<string>();
  /**
   * Hosts that ignore If-Match / If-None-Match on a manifest PUT, as distribution 2.8 and olareg do;
   * the others refuse a write to a tag changed since it was read (412), as a registry honouring them.
   */
  readonly unconditionalHosts = new Set<string>();
  /** Every copy asked for, in order. */
  readonly copies: { task: CopyTask; assumeAbsent: boolean }[] = [];
  /** Every signature write asked for, in order. */
  readonly writes: { repo: RepositoryRef; req: WriteRequest }[] = [];
  /** Calls per operation (faulted ones too). */
  readonly calls: Partial<Record<PortOperation, number>> = {};
  /** Every call in order, with the repository (or host) it was about. */
  readonly requests: { op: PortOperation; where: string }[] = [];

  // ---- arranging a test --------------------------------------------------------------------

  inject(f: Fault): void {
    this.faults.push({ ...f, left: f.times ?? 1 });
  }

  /** Another writer acts on a shared tag in the middle of the next writeSignatures update of it. */
  interleave(i: Interloper): void {
    this.interlopers.push({ ...i, left: i.times ?? 1 });
  }

  /** Somebody else appends a signature layer to `digest`'s `.sig`, as cosign does (reading it, merging, writing). */
  appendSignature(repo: RepositoryRef, digest: string, layer: SignatureLayer): void {
    const tag = signatureTag(digest);
    const merged = mergeSignatureArtifact(this.resolve(repo, tag)?.bytes, layer);
    if (merged.changed) this.store(repo, merged.artifact, tag);
  }

  /** Somebody else replaces `digest`'s `.sig` with one of its own layer alone (a writer that does not merge). */
  replaceSignature(repo: RepositoryRef, digest: string, layer: SignatureLayer): void {
    this.store(repo, mergeSignatureArtifact(undefined, layer).artifact, signatureTag(digest));
  }

  /** The layers of `digest`'s `.sig` manifest (none when absent). */
  signatureLayersOf(repo: RepositoryRef, digest: string): Descriptor[] {
    const m = this.resolve(repo, signatureTag(digest));
    return m ? parse<{ layers: Descriptor[] }>(m).layers : [];
  }

  /** Puts a manifest (and the blobs it names, when given) into a repository; returns its digest. */
  putManifest(repo: RepositoryRef, manifest: unknown, opts: { mediaType?: string; tag?: string; blobs?: Buffer[] } = {}): string {
    const bytes = json(manifest);
    const digest = sha256Digest(bytes);
    const r = this.repo(repo);
    r.manifests.set(digest, { digest, mediaType: opts.mediaType ?? OCI_MANIFEST, bytes });
    for (const b of opts.blobs ?? []) r.blobs.set(sha256Digest(b), b);
    if (opts.tag) r.tags.set(opts.tag, digest);
    return digest;
  }

  /** A small image (config and one layer); an index over `platforms` images when asked. */
  putImage(repo: RepositoryRef, seed: string, opts: { tag?: string; platforms?: number } = {}): string {
    const one = (s: string, tag?: string): string => {
      const config = json({ seed: s });
      const layer = Buffer.from(`layer of ${s}`);
      const d = (b: Buffer, mediaType: string) => ({ mediaType, digest: sha256Digest(b), size: b.length });
      const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: d(config, OCI_CONFIG), layers: [d(layer, OCI_LAYER_TAR)] };
      return this.putManifest(repo, manifest, { blobs: [config, layer], ...(tag ? { tag } : {}) });
    };
    if (!opts.platforms) return one(seed, opts.tag);
    const children = Array.from({ length: opts.platforms }, (_, i) => one(`${seed}/${i}`)).map((digest) => this.repo(repo).manifests.get(digest)!);
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map(descriptorOf) };
    return this.putManifest(repo, index, { mediaType: OCI_INDEX, ...(opts.tag ? { tag: opts.tag } : {}) });
  }

  /**
   * Attaches a referrer of `subject` (an SBOM, a signature bundle) as a build would, listing it in
   * the fallback index where the host has no referrers API; returns its digest.
   */
  attach(repo: RepositoryRef, subject: string, artifactType: string, body: string, annotations?: Record<string, string>): string {
    const layer = Buffer.from(body);
    const empty = Buffer.from('{}');
    const m = this.repo(repo).manifests.get(subject)!;
    const digest = this.putManifest(
      repo,
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest(empty), size: 2 },
        layers: [{ mediaType: artifactType, digest: sha256Digest(layer), size: layer.length }],
        subject: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length },
        ...(annotations ? { annotations } : {}),
      },
      { blobs: [empty, layer] },
    );
    const referrer = this.repo(repo).manifests.get(digest)!;
    if (!this.apiHosts.has(repo.host)) this.addToFallbackIndex(repo, subject, [referrerDescriptor(referrer.bytes, referrer.mediaType).descriptor]);
    return digest;
  }

  /** Somebody else re-points a tag (the promoter never would). */
  moveTag(repo: RepositoryRef, tag: string, digest: string): void {
    this.repo(repo).tags.set(tag, digest);
  }

  /** Somebody else deletes a tag (a signature removed on a mirror). */
  deleteTag(repo: RepositoryRef, tag: string): void {
    this.repo(repo).tags.delete(tag);
  }

  /** Somebody else deletes a manifest and the tags on it (staging losing an image). */
  deleteManifest(repo: RepositoryRef, digest: string): void {
    const r = this.repo(repo);
    r.manifests.delete(digest);
    for (const [tag, d] of r.tags) if (d === digest) r.tags.delete(tag);
  }

  // ---- reading what happened ---------------------------------------------------------------

  tagsOf(repo: RepositoryRef): Record<string, string> {
    return Object.fromEntries(this.repos.get(repositoryKey(repo))?.tags ?? []);
  }

  /** The bytes of a manifest `repo` holds. */
  manifest(repo: RepositoryRef, digest: string): Buffer {
    return this.must(repo, digest).bytes;
  }

  /** The digests an index lists (none for an image). */
  childrenOf(repo: RepositoryRef, digest: string): string[] {
    return (parse<{ manifests?: Descriptor[] }>(this.must(repo, digest)).manifests ?? []).map((c) => c.digest);
  }

  has(repo: RepositoryRef, digest: string): boolean {
    return this.repos.get(repositoryKey(repo))?.manifests.has(digest) ?? false;
  }

  /** The referrers of `digest` in `repo` as a client finds them: the referrers API, or the fallback index. */
  referrersOf(repo: RepositoryRef, digest: string): Descriptor[] {
    if (!this.apiHosts.has(repo.host)) {
      const index = this.resolve(repo, referrersFallbackTag(digest));
      return index ? (parse<{ manifests?: Descriptor[] }>(index).manifests ?? []) : [];
    }
    const out: Descriptor[] = [];
    for (const m of this.repos.get(repositoryKey(repo))?.manifests.values() ?? []) {
      if (parse<{ subject?: Descriptor }>(m).subject?.digest === digest) out.push(referrerDescriptor(m.bytes, m.mediaType).descriptor);
    }
    return out;
  }

  // ---- the port ----------------------------------------------------------------------------

  async ping(host: string): Promise<void> {
    await this.enter('ping', host);
  }

  async listTags(repo: RepositoryRef): Promise<string[]> {
    await this.enter('listTags', repositoryKey(repo));
    return [...(this.repos.get(repositoryKey(repo))?.tags.keys() ?? [])];
  }

  async manifestDigest(repo: RepositoryRef, reference: string): Promise<string | undefined> {
    await this.enter('manifestDigest', repositoryKey(repo));
    return this.resolve(repo, reference)?.digest;
  }

  async manifestTree(target: DigestRef): Promise<ManifestTree> {
    await this.enter('manifestTree', repositoryKey(target));
    const m = this.must(target, target.digest);
    const children = parse<{ manifests?: Descriptor[] }>(m).manifests ?? [];
    return { image: descriptorOf(m), children: children.map((c) => ({ digest: c.digest, mediaType: c.mediaType, size: c.size })) };
  }

  async servesReferrersApi(repo: RepositoryRef): Promise<boolean> {
    await this.enter('servesReferrersApi', repo.host);
    return this.apiHosts.has(repo.host);
  }

  async copy(task: CopyTask, opts: { assumeAbsent?: boolean } = {}): Promise<CopyOutcome> {
    this.copies.push({ task, assumeAbsent: !!opts.assumeAbsent });
    const hangAfter = await this.enter('copy', repositoryKey(task.destination));
    const transfer = { blobsUploaded: 0, blobsMounted: 0, blobsSkipped: 0, bytesUploaded: 0, manifestsWritten: 0, referrersCopied: 0 };
    // As the real copy: a repository the plan found empty is written without looking (a first attempt only).
    const blind = !!opts.assumeAbsent;
    this.copyTree(task.source, task.destination, task.digest, transfer, blind);
    // What the source attached to the image and, for an index, to each child: referrers (not signatures) and the legacy `.att`.
    const children = parse<{ manifests?: Descriptor[] }>(this.must(task.source, task.digest)).manifests ?? [];
    let fallbackTag: string | undefined;
    let carried = false;
    for (const subject of [task.digest, ...children.map((c) => c.digest)]) {
      const referrers = await withoutSignatures(this.referrersOf(task.source, subject), async (d) => this.must(task.source, d).bytes);
      for (const r of referrers) {
        this.copyTree(task.source, task.destination, r.digest, transfer, blind);
        transfer.referrersCopied++;
      }
      if (referrers.length > 0 && !this.apiHosts.has(task.destination.host)) {
        const tag = this.addToFallbackIndex(task.destination, subject, referrers);
        if (subject === task.digest) fallbackTag = tag;
      }
      const attested = this.carryLegacyAttestation(task.source, task.destination, subject, transfer, blind);
      carried ||= referrers.length > 0 || attested;
    }
    // Tags are looked at before they are written, unless blind; with anything carried the image is there whatever the plan thought.
    const look = !blind || carried;
    const tags: TagOutcome[] = task.tags.map((tag) => {
      const current = look ? this.repo(task.destination).tags.get(tag) : undefined;
      if (current === task.digest) return { tag, result: 'present' };
      if (current) return { tag, result: 'tag-move', currentDigest: current };
      this.repo(task.destination).tags.set(tag, task.digest);
      return { tag, result: 'written' };
    });
    if (hangAfter) await never();
    return { transfer, tags, ...(fallbackTag ? { fallbackTag } : {}) };
  }

  async findSignatures(target: DigestRef): Promise<FoundSignatures> {
    await this.enter('findSignatures', repositoryKey(target));
    const bundles: FoundSignatures['bundles'] = [];
    for (const d of this.referrersOf(target, target.digest).filter(isBundleReferrer)) {
      const referrer = this.must(target, d.digest);
      const m = parse<{ layers: Descriptor[]; annotations?: Record<string, string> }>(referrer);
      const layer = m.layers.find((l) => l.mediaType.startsWith('application/vnd.dev.sigstore.bundle'));
      if (layer) bundles.push({ referrer, bundle: this.blob(target, layer.digest), predicateType: m.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION] });
    }
    const signature = this.resolve(target, signatureTag(target.digest));
    const attestation = this.resolve(target, attestationTag(target.digest));
    return { ...(signature ? { signature } : {}), ...(attestation ? { attestation } : {}), bundles };
  }

  async findProvenance(target: DigestRef, found?: FoundSignatures): Promise<ProvenanceCandidate[]> {
    const f = found ?? (await this.findSignatures(target));
    await this.enter('findProvenance', repositoryKey(target));
    return f.bundles
      .filter((b) => b.predicateType === SLSA_PROVENANCE_V1)
      .map((b) => ({ source: `referrer ${b.referrer.digest}`, manifest: b.referrer.digest, document: b.bundle }));
  }

  async verifySignatures(target: DigestRef, trust: SignatureTrust, found?: FoundSignatures): Promise<ImageSignatureVerification> {
    const f = found ?? (await this.findSignatures(target));
    await this.enter('verifySignatures', repositoryKey(target));
    const out: ImageSignatureVerification = { valid: false, formats: [], signers: [], verified: [], errors: [] };
    if (f.signature) {
      const v = await verifyCosignSignature(f.signature.bytes, async (d) => this.blob(target, d), { digest: target.digest, ...trust });
      if (v.valid) {
        out.formats.push('legacy');
        out.verified.push(f.signature.digest);
      }
      out.errors.push(...v.errors);
    }
    const signatures = f.bundles.filter((b) => b.predicateType === undefined || b.predicateType === COSIGN_SIGN_PREDICATE_TYPE);
    const verdicts = signatures.map((b) => verifyBundle(b.bundle, { ...trust, expectedDigest: target.digest, predicateType: COSIGN_SIGN_PREDICATE_TYPE }));
    if (verdicts.some((v) => v.ok)) out.formats.push('bundle');
    for (const [i, b] of signatures.entries()) if (verdicts[i]!.ok) out.verified.push(b.referrer.digest);
    out.errors.push(...verdicts.flatMap((v) => v.errors));
    out.valid = out.formats.length > 0;
    return out;
  }

  async verifyProvenance(target: DigestRef, policy: Parameters<RegistryPort['verifyProvenance']>[1], found?: FoundSignatures) {
    const candidates = await this.findProvenance(target, found);
    await this.enter('verifyProvenance', repositoryKey(target));
    const reasons = candidates.map((c) => ({ c, v: verifySlsaProvenance(c.document, { ...policy, digest: target.digest }) }));
    const passed = reasons.find((r) => r.v.ok);
    if (passed) return { ...passed.v, source: passed.c.source, manifest: passed.c.manifest };
    if (candidates.length === 0) return { ok: false, reason: 'no SLSA provenance v1 attestation found' };
    return { ok: false, reason: reasons.map((r) => `${r.c.source}: ${r.v.reason}`).join('; ') };
  }

  async writeSignatures(repo: RepositoryRef, req: WriteRequest): Promise<WriteOutcome> {
    this.writes.push({ repo, req });
    const hangAfter = await this.enter('writeSignatures', repositoryKey(repo));
    const out: WriteOutcome = { referrers: [], index: 'none' };
    const { digest } = req.subject;
    const layer = req.set && legacyLayerOf(req.set);
    if (layer) {
      // As the real writer: merged into the `.sig` as it is when written (lib/oci/shared-tag.ts).
      const tag = signatureTag(digest);
      let blobs: OciArtifact['blobs'] = [];
      const result = await updateSharedTag(
        this.sharedTag(repo, tag, () => blobs),
        {
          merge: (current) => {
            const merged = mergeSignatureArtifact(current ? Buffer.from(current.bytes) : undefined, layer);
            if (!merged.changed) return undefined;
            blobs = merged.artifact.blobs;
            return { bytes: merged.artifact.manifest, digest: merged.artifact.digest, mediaType: merged.artifact.mediaType };
          },
        },
        { sleep: async () => {} },
      );
      out.legacy = result === 'written' ? 'written' : 'present';
    }
    for (const b of [...(req.set?.bundle ? [req.set.bundle] : []), ...(req.attestations ?? [])]) {
      const referrer = buildBundleReferrer(b.bundle, req.subject, SIGSTORE_BUNDLE_V03, { created: new Date(b.created) });
      this.store(repo, referrer);
      out.referrers.push(referrerDescriptor(referrer.manifest, referrer.mediaType).descriptor);
    }
    const result = await this.placeIndex(repo, req, out);
    if (hangAfter) await never();
    return result;
  }

  // ---- inside --------------------------------------------------------------------------------

  /** The referrers a write made, in the fallback index unless the host serves the API or the index is left to a later step. */
  private async placeIndex(repo: RepositoryRef, req: WriteRequest, out: WriteOutcome): Promise<WriteOutcome> {
    const { digest } = req.subject;
    const entries = [...(req.indexBase ?? []), ...out.referrers];
    if (entries.length === 0) return out;
    if (this.apiHosts.has(repo.host)) return { ...out, index: 'api' };
    if (req.deferIndex) return { ...out, index: 'deferred', pendingIndex: entries };
    const tag = this.sharedTag(repo, referrersFallbackTag(digest), () => []);
    return { ...out, index: await updateSharedTag(tag, fallbackIndexUpdate(entries, tag.where), { sleep: async () => {} }) };
  }

  /** A shared tag in memory, where interlopers act between the writer's steps; `blobs`: what a write stores with the manifest. */
  private sharedTag(repo: RepositoryRef, tag: string, blobs: () => OciArtifact['blobs']): SharedTag {
    const interlope = (when: Interloper['when']) => {
      for (const i of this.interlopers) {
        if (i.left <= 0 || i.when !== when || i.tag !== tag || repositoryKey(i.repo) !== repositoryKey(repo)) continue;
        i.left--;
        i.act(this);
      }
    };
    return {
      where: `${repositoryKey(repo)}:${tag}`,
      read: async () => this.resolve(repo, tag),
      digest: async () => this.resolve(repo, tag)?.digest,
      write: async (content, readAt) => {
        interlope('before-write');
        if (!this.unconditionalHosts.has(repo.host) && this.resolve(repo, tag)?.digest !== readAt) {
          throw new OciError({
            code: 'PRECONDITION_FAILED',
            status: 412,
            registry: repo.host,
            repository: repo.repository,
            message: `${repositoryKey(repo)}:${tag} changed since it was read`,
          });
        }
        this.store(repo, { manifest: Buffer.from(content.bytes), mediaType: content.mediaType, digest: content.digest, blobs: blobs() }, tag);
        interlope('after-write');
      },
    };
  }

  /** Counts the call and lets the first matching fault happen; true: hang once the call has done its work. */
  private async enter(op: PortOperation, where: string): Promise<boolean> {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    this.requests.push({ op, where });
    const f = this.faults.find((x) => x.op === op && x.left > 0 && (!x.where || x.where === where || where.startsWith(`${x.where}/`)));
    if (!f) return false;
    f.left--;
    if (f.fault === 'hang-after') return true;
    if (f.fault === 'hang') return never();
    const registry = where.split('/')[0];
    if (f.fault === 'throttle') throw new OciError({ code: 'TOOMANYREQUESTS', status: 429, registry, message: `${op} ${where}: 429 Too Many Requests` });
    throw f.fault;
  }

  private repo(r: RepositoryRef): Repo {
    const key = repositoryKey(r);
    let repo = this.repos.get(key);
    if (!repo) this.repos.set(key, (repo = { manifests: new Map(), blobs: new Map(), tags: new Map() }));
    return repo;
  }

  private resolve(r: RepositoryRef, reference: string): StoredManifest | undefined {
    const repo = this.repos.get(repositoryKey(r));
    const digest = reference.startsWith('sha256:') ? reference : repo?.tags.get(reference);
    return digest ? repo?.manifests.get(digest) : undefined;
  }

  private must(r: RepositoryRef, digest: string): StoredManifest {
    const m = this.resolve(r, digest);
    if (!m) throw this.unknown('MANIFEST_UNKNOWN', r, `${repositoryKey(r)}@${digest}: manifest unknown`);
    return m;
  }

  private blob(r: RepositoryRef, digest: string): Buffer {
    const b = this.repos.get(repositoryKey(r))?.blobs.get(digest);
    if (!b) throw this.unknown('BLOB_UNKNOWN', r, `${repositoryKey(r)}: blob ${digest} unknown`);
    return b;
  }

  private unknown(code: 'MANIFEST_UNKNOWN' | 'BLOB_UNKNOWN', r: RepositoryRef, message: string): OciError {
    return new OciError({ code, status: 404, registry: r.host, repository: r.repository, message });
  }

  private store(repo: RepositoryRef, artifact: Pick<OciArtifact, 'manifest' | 'mediaType' | 'digest' | 'blobs'>, tag?: string): void {
    const r = this.repo(repo);
    for (const b of artifact.blobs) r.blobs.set(b.digest, b.bytes);
    r.manifests.set(artifact.digest, { digest: artifact.digest, mediaType: artifact.mediaType, bytes: artifact.manifest });
    if (tag) r.tags.set(tag, artifact.digest);
  }

  /** Children first, blobs before their manifest; what the destination holds is skipped unless `blind` (no look first). */
  private copyTree(from: RepositoryRef, to: RepositoryRef, digest: string, t: CopyOutcome['transfer'], blind = false): void {
    const dst = this.repo(to);
    if (!blind && dst.manifests.has(digest)) return;
    const m = this.must(from, digest);
    const doc = parse<{ manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(m);
    for (const child of doc.manifests ?? []) this.copyTree(from, to, child.digest, t, blind);
    for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
      if (!blind && dst.blobs.has(d.digest)) {
        t.blobsSkipped++;
        continue;
      }
      const bytes = this.blob(from, d.digest);
      dst.blobs.set(d.digest, bytes);
      t.blobsUploaded++;
      t.bytesUploaded += bytes.length;
    }
    dst.manifests.set(digest, m);
    t.manifestsWritten++;
  }

  /** The source's `.att` of `subject` copied by digest and merged into the destination's (as lib/oci merges it); whether there was one. */
  private carryLegacyAttestation(from: RepositoryRef, to: RepositoryRef, subject: string, t: CopyOutcome['transfer'], blind: boolean): boolean {
    const tag = attestationTag(subject);
    const source = this.resolve(from, tag);
    if (!source) return false;
    this.copyTree(from, to, source.digest, t, blind);
    const current = this.resolve(to, tag);
    const merged = current?.digest === source.digest ? undefined : mergeAttestationManifest(current?.bytes, source.bytes, tag);
    if (merged) {
      const bytes = Buffer.from(merged);
      this.store(to, { manifest: bytes, mediaType: current?.mediaType ?? source.mediaType, digest: sha256Digest(bytes), blobs: [] }, tag);
      t.manifestsWritten++;
    }
    return true;
  }

  /** The `sha256-<hex>` index of `subject` with `entries` listed; returns its tag. */
  private addToFallbackIndex(repo: RepositoryRef, subject: string, entries: Descriptor[], mergeExisting = true): string {
    const tag = referrersFallbackTag(subject);
    const current = mergeExisting ? this.resolve(repo, tag) : undefined;
    const next = withReferrers(current && parse(current), entries);
    if (next) this.store(repo, { manifest: json(next), mediaType: OCI_INDEX, digest: sha256Digest(json(next)), blobs: [] }, tag);
    return tag;
  }
}
