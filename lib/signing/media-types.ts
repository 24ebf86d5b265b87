// Media types, annotation keys and predicate types exchanged with cosign.
import { assertDigest, digestTag } from '../oci/reference';

export { OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from '../oci/media-types';
/** The two bytes `{}`: the OCI 1.1 empty descriptor payload. */
export const OCI_EMPTY_BYTES = Buffer.from('{}');

// Legacy cosign signatures: tag `sha256-<hex>.sig`, one layer per signature.
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
/** RFC 3161 timestamp over the signature: `{"SignedRFC3161Timestamp":"<base64 DER>"}`. */
export const RFC3161_TIMESTAMP_ANNOTATION = 'dev.sigstore.cosign/rfc3161timestamp';
export const SIMPLE_SIGNING_TYPE = 'cosign container image signature';

// Legacy cosign attestations: tag `sha256-<hex>.att`, DSSE envelopes as layers.
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';

// Sigstore bundles attached as OCI 1.1 referrers (cosign v3 default).
export const SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';

/** What `cosign sign` (v3, bundle format) signs: an in-toto statement with an empty predicate. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** The promoter's own attestation: one per promoted digest. */
export const PROMOTION_PREDICATE_TYPE = 'https://promoter.k8s.io/promotion/v1';
/** SLSA Verification Summary v1: what the promoter verified of a digest before promoting it. */
export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';

export { assertDigest };

export const signatureTag = (digest: string): string => `${digestTag(digest)}.sig`;
export const attestationTag = (digest: string): string => `${digestTag(digest)}.att`;
/** OCI 1.1 referrers tag schema fallback: an index tagged `sha256-<hex>`. */
export const referrersFallbackTag = (digest: string): string => digestTag(digest);
