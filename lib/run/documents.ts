/**
 * The shapes of the documents the phases write to the audit bucket (keys: ./storage-keys.ts).
 * Each phase writes its full result here and hands the workflow only counts and the key.
 */
import type { SerializedBundle } from '@sigstore/bundle';
import type { Descriptor } from '../oci/media-types';
import type { SignatureSet } from '../signing/image-signer';
import type { RepositoryRef } from '../oci/reference';
import type { Failure, PromoteBatchSummary, VerificationSummary } from './outcomes';
import type { CheckRecord } from './vsa';

/** What every phase's result document holds beyond its summary. */
export interface ResultDocument<S> {
  summary: S;
  failures: Failure[];
  /** Verification phases: source digests blocked by policy. */
  blockedDigests?: string[];
}

/** Provenance and Validate: also what was only warned about (policy `warn`). */
export interface VerificationDocument extends ResultDocument<VerificationSummary> {
  warnings: Failure[];
  blockedDigests: string[];
  /**
   * What was found for each source digest checked (`host/repo@sha256:…`), with the evidence that
   * verified: Attest writes the verification summaries from these. Absent in documents of earlier
   * versions (their digests get no summary).
   */
  records?: Record<string, CheckRecord>;
}

/** Each digest a Promote batch left in place, where, and whether this run put it there. */
export interface PlacedImage {
  project: string;
  image: string;
  digest: string;
  source: RepositoryRef;
  destination: RepositoryRef;
  destinationIndex: number;
  tags: string[];
  promotedNow: boolean;
  /** The `sha256-<hex>` fallback tag Promote wrote there for the source's referrers (Sign and Attest merge into it). */
  fallbackTag?: string;
}

/** A Promote batch's result: Sign and Attest read `placed` back. */
export interface PromoteBatchDocument extends ResultDocument<PromoteBatchSummary> {
  placed: PlacedImage[];
}

/**
 * A promotion attestation as archived before it is attached: a retried Attest attaches this very
 * statement instead of signing a second one with a new timestamp.
 */
export interface ArchivedAttestation {
  statement: unknown;
  bundle: SerializedBundle;
  /** The creation time its referrer manifest carries (absent in archives of earlier versions). */
  created?: string;
}

/** A manifest the promoter signed: as the registries hold it (subject of its referrers). */
export type SignedSubject = Pick<Descriptor, 'digest' | 'mediaType' | 'size'>;

/**
 * Everything the promoter signed for one image with one signer (storage-keys signatureArchiveKey):
 * each of its manifests, an index's children first and the image itself last, as Sign writes them.
 */
export interface ArchivedSignatures {
  image: string;
  mark: string;
  manifests: { subject: SignedSubject; set: SignatureSet }[];
}

/** The archive keys of every promotion attestation and verification summary made for an image (mutable: more per promotion). */
export interface AttestationList {
  keys: string[];
}
