// Sigstore bundles (v0.3) signed offline with a local key, and their OCI 1.1
// referrer form exactly as cosign v3 writes it:
//
//   { schemaVersion 2, mediaType OCI manifest,
//     config: { empty descriptor `{}`, artifactType: <bundle media type> },
//     layers: [ { mediaType: application/vnd.dev.sigstore.bundle.v0.3+json, bundle JSON } ],
//     annotations: { dev.sigstore.bundle.content: dsse-envelope,
//                    dev.sigstore.bundle.predicateType: <predicate>,
//                    org.opencontainers.image.created: <RFC 3339> },
//     subject: <signed manifest descriptor>,
//     artifactType: application/vnd.dev.sigstore.bundle.v0.3+json }
//
// Registries without the referrers API get the OCI tag-schema fallback (lib/oci/referrers.ts).
import { bundleFromJSON, bundleToJSON, type Bundle, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, type Signer, type Witness } from '@sigstore/sign';
import type { SigningKey } from './signing-keys';
import {
  BUNDLE_CONTENT_ANNOTATION,
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  CREATED_ANNOTATION,
  IN_TOTO_PAYLOAD_TYPE,
  OCI_EMPTY,
  OCI_EMPTY_BYTES,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
  assertDigest,
} from './media-types';
import { type ImageManifestJson, type OciArtifact, blobOf, descriptorOf, jsonBytes, parseJson, sha256Digest, sortedRecord } from './oci-artifact';
import { cosignSignStatement, parseStatement, type Statement } from './statements';

export type { SerializedBundle };

/** Adapts a SigningKey to sigstore-js: the public key travels only as a hint, like cosign. */
export function localKeySigner(key: SigningKey): Signer {
  return {
    // eslint-disable-next-line @typescript-eslint/require-await -- sigstore-js's Signer is async; async keeps a failing key.sign a rejection, as a remote signer's would be
    sign: async (data: Buffer) => ({
      signature: key.sign(data),
      key: { $case: 'publicKey', publicKey: key.publicKeyPem, hint: key.keyHint },
    }),
  };
}

/**
 * DSSE-signs a payload into a v0.3 bundle with any sigstore-js Signer
 * (local key, Fulcio) and witnesses (Rekor, TSA; none for offline keys).
 */
export async function buildDsseBundle(
  signer: Signer,
  witnesses: Witness[],
  statement: Statement<unknown> | Buffer,
  payloadType: string = IN_TOTO_PAYLOAD_TYPE,
): Promise<SerializedBundle> {
  const data = Buffer.isBuffer(statement) ? statement : jsonBytes(statement);
  const builder = new DSSEBundleBuilder({ signer, witnesses });
  const bundle = bundleToJSON(await builder.create({ data, type: payloadType }));
  // sigstore-js copies the key hint into the DSSE signature's keyid. cosign
  // (go-securesystemslib) skips a signature whose keyid differs from its
  // verifier's key id, so cosign rejects such bundles. cosign itself writes no
  // keyid; neither do we. keyid is not covered by the signature.
  for (const s of bundle.dsseEnvelope?.signatures ?? []) delete (s as { keyid?: string }).keyid;
  return bundle;
}

/** DSSE-signs an in-toto statement offline (no Fulcio, no Rekor, no TSA) into a v0.3 bundle. */
export function signDsseBundle(key: SigningKey, statement: Statement<unknown> | Buffer, payloadType: string = IN_TOTO_PAYLOAD_TYPE): Promise<SerializedBundle> {
  return buildDsseBundle(localKeySigner(key), [], statement, payloadType);
}

/** The image signature cosign v3 `sign` writes by default: a DSSE bundle over a cosign/sign/v1 statement. */
export function signImageBundle(key: SigningKey, digest: string, annotations?: Record<string, string>): Promise<SerializedBundle> {
  return signDsseBundle(key, cosignSignStatement(digest, annotations));
}

export function parseBundle(json: SerializedBundle | Buffer | string): Bundle {
  const value = Buffer.isBuffer(json) || typeof json === 'string' ? parseJson<unknown>(json, 'sigstore bundle') : json;
  return bundleFromJSON(value);
}

/** The in-toto statement inside a DSSE bundle, or undefined for message-signature bundles. */
export function bundleStatement(bundle: Bundle): Statement | undefined {
  if (bundle.content.$case !== 'dsseEnvelope') return undefined;
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return undefined;
  return parseStatement(env.payload);
}

export interface BundleReferrerOptions {
  /** dev.sigstore.bundle.predicateType; taken from the DSSE statement when omitted. */
  predicateType?: string;
  /** org.opencontainers.image.created; defaults to now (second precision, like cosign). */
  created?: Date;
}

/**
 * Wraps a bundle as an OCI 1.1 referrer manifest of `subject`, with the layout
 * cosign v3 writes and reads. The bundle bytes are kept exactly as given.
 */
export function buildBundleReferrer(
  bundleJson: SerializedBundle | Buffer | string,
  subject: { digest: string; mediaType: string; size: number },
  artifactType: string = SIGSTORE_BUNDLE_V03,
  options: BundleReferrerOptions = {},
): OciArtifact & { artifactType: string; annotations: Record<string, string> } {
  assertDigest(subject.digest);
  const bytes = Buffer.isBuffer(bundleJson) ? bundleJson : typeof bundleJson === 'string' ? Buffer.from(bundleJson) : jsonBytes(bundleJson);
  const bundle = parseBundle(bytes);
  const isDsse = bundle.content.$case === 'dsseEnvelope';
  const predicateType = options.predicateType ?? bundleStatement(bundle)?.predicateType;
  const created = (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const annotations = sortedRecord({
    [BUNDLE_CONTENT_ANNOTATION]: isDsse ? 'dsse-envelope' : 'message-signature',
    ...(predicateType ? { [BUNDLE_PREDICATE_TYPE_ANNOTATION]: predicateType } : {}),
    [CREATED_ANNOTATION]: created,
  });
  const config = blobOf(OCI_EMPTY_BYTES, OCI_EMPTY);
  const layer = blobOf(bytes, SIGSTORE_BUNDLE_V03);
  const manifest: ImageManifestJson = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(config, { artifactType }),
    layers: [descriptorOf(layer)],
    annotations,
    subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    artifactType,
  };
  const manifestBytes = jsonBytes(manifest);
  return { manifest: manifestBytes, mediaType: OCI_MANIFEST, digest: sha256Digest(manifestBytes), blobs: [config, layer], artifactType, annotations };
}
