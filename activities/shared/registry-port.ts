/**
 * The registry port: everything the phases ask of registries, in three groups, and nothing else.
 * One implementation talks to real registries (./registry-adapter.ts, one per worker, so its
 * per-host budgets and caches are shared by every activity the worker runs); the tests use an
 * in-memory one (test/support/fake-registry.ts). Telemetry (request counts, listeners, the budget
 * share) is not here: only the worker, its metrics and the bench hold that handle.
 */
import type { CopyTransfer, DigestRef, RepositoryRef, TagOutcome } from '../../lib/oci';
import type { SignedSubject } from '../../lib/run/documents';
import type { CopyTask } from '../../lib/run/plan';
import type {
  FoundSignatures,
  ImageSignatureVerification,
  KeylessTrust,
  ProvenancePolicy,
  ProvenanceVerdict,
  VerificationKey,
  WriteOutcome,
  WriteRequest,
} from '../../lib/signing';

/** An image as it is stored, with an index's children: what signatures name as their subjects. */
export interface ManifestTree {
  image: SignedSubject;
  children: SignedSubject[];
}

/** What registries hold: Setup, Plan and the nightly check read them; Sign and Attest name subjects. */
interface RegistryInventory {
  /** The registry answers and takes the worker's credentials. */
  ping(host: string): Promise<void>;
  listTags(repo: RepositoryRef): Promise<string[]>;
  /** HEAD a manifest by tag or digest: its digest, or undefined when absent. */
  manifestDigest(repo: RepositoryRef, reference: string): Promise<string | undefined>;
  manifestTree(target: DigestRef): Promise<ManifestTree>;
  /** Whether the repository's registry serves the OCI 1.1 referrers API (asked once per host). */
  servesReferrersApi(repo: RepositoryRef): Promise<boolean>;
}

export interface CopyOutcome {
  transfer: CopyTransfer;
  tags: TagOutcome[];
  /** The fallback tag written for the source's referrers (a destination without the referrers API). */
  fallbackTag?: string;
}

/** Promote's one operation. */
interface RegistryCopy {
  /**
   * Copy one image by digest with the referrers the source holds (not its signatures), then set its
   * tags; never moves a tag. `assumeAbsent`: the plan found the repository empty (first attempt only).
   */
  copy(task: CopyTask, opts?: { assumeAbsent?: boolean }): Promise<CopyOutcome>;
}

export interface ProvenanceCandidate {
  /** Where it was found (a referrer digest, a `.att` layer). */
  source: string;
  /** The digest of the manifest that carries it (the referrer, the `.att` manifest). */
  manifest: string;
  document: Buffer;
}

export type SignatureTrust = { keys?: VerificationKey[]; keyless?: KeylessTrust };

/** Signatures and attestations: found and verified (Provenance, Validate, the nightly check), written (Sign, Attest, the mirror). */
interface RegistrySignatures {
  findSignatures(target: DigestRef): Promise<FoundSignatures>;
  findProvenance(target: DigestRef, found?: FoundSignatures): Promise<ProvenanceCandidate[]>;
  verifySignatures(target: DigestRef, trust: SignatureTrust, found?: FoundSignatures): Promise<ImageSignatureVerification>;
  verifyProvenance(
    target: DigestRef,
    policy: Omit<ProvenancePolicy, 'digest'>,
    found?: FoundSignatures,
  ): Promise<ProvenanceVerdict & { source?: string; manifest?: string }>;
  /**
   * Write signatures and attestations the promoter made into a repository (lib/signing/signature-writer.ts),
   * merged into the shared tags as they are at the time of writing.
   */
  writeSignatures(repo: RepositoryRef, req: WriteRequest): Promise<WriteOutcome>;
}

export interface RegistryPort extends RegistryInventory, RegistryCopy, RegistrySignatures {}
