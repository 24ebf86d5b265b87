// cosign's legacy signature format: an OCI image manifest tagged
// `sha256-<hex>.sig` in the signed image's repository, one layer per
// signature. Each layer is a "simple signing" JSON payload naming the signed
// digest; the base64 DER signature over the payload bytes sits in the layer
// annotation `dev.cosignproject.cosign/signature`.
import type { SigningKey, VerificationKey } from './signing-keys';
import { verifyWithKey } from './signing-keys';
import {
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_EMPTY_BYTES,
  OCI_MANIFEST,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  SIMPLE_SIGNING_TYPE,
  assertDigest,
  signatureTag,
} from './media-types';
import {
  type Descriptor,
  type ImageManifestJson,
  type OciArtifact,
  type OciBlob,
  blobOf,
  descriptorOf,
  jsonBytes,
  parseJson,
  sha256Digest,
  sortedRecord,
} from './oci-artifact';

export interface SimpleSigningPayload {
  critical: {
    identity: { 'docker-reference': string };
    image: { 'docker-manifest-digest': string };
    type: string;
  };
  optional: Record<string, string> | null;
}

/** One signature: the layer descriptor (with its annotations) and the payload blob. */
export interface SignatureLayer {
  descriptor: Descriptor;
  payload: Buffer;
}

export interface SignatureArtifact extends OciArtifact {
  tag: string;
  /** The layer this call added (absent when a merge found the signature already present). */
  layer?: SignatureLayer;
}

/**
 * The exact bytes cosign signs: `{"critical":{"identity":{"docker-reference":R},
 * "image":{"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":O}`
 * with O null or an object with sorted keys (Go map order). cosign uses the
 * repository (no tag, no digest) as the docker-reference.
 */
export function simpleSigningPayload(dockerReference: string, digest: string, optional?: Record<string, string>): Buffer {
  assertDigest(digest);
  const payload: SimpleSigningPayload = {
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': digest },
      type: SIMPLE_SIGNING_TYPE,
    },
    optional: optional && Object.keys(optional).length > 0 ? sortedRecord(optional) : null,
  };
  return jsonBytes(payload);
}

export function parseSimpleSigningPayload(bytes: Buffer): SimpleSigningPayload {
  const p = parseJson<SimpleSigningPayload>(bytes, 'simple signing payload');
  if (typeof p?.critical?.image?.['docker-manifest-digest'] !== 'string') {
    throw new Error('simple signing payload: missing critical.image.docker-manifest-digest');
  }
  return p;
}

/** The config cosign (go-containerregistry) writes for a signature image: diff_ids list the layers. */
function signatureConfig(layers: Descriptor[]): OciBlob {
  const config = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  };
  return blobOf(jsonBytes(config), OCI_CONFIG);
}

/**
 * The OCI 1.1 empty config (`{}`, application/vnd.oci.empty.v1+json) the promoter gives a `.sig` it
 * starts: cosign reads signatures from the layers only (and appends to such a manifest), and the one
 * shared blob is already in every repository that holds a bundle referrer, so it costs no upload.
 */
const EMPTY_CONFIG: OciBlob = blobOf(OCI_EMPTY_BYTES, OCI_EMPTY);

function signatureManifest(digest: string, layers: Descriptor[], blobs: OciBlob[], config: OciBlob = signatureConfig(layers)): SignatureArtifact {
  const manifest: ImageManifestJson = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptorOf(config),
    layers,
  };
  const bytes = jsonBytes(manifest);
  return { tag: signatureTag(digest), manifest: bytes, mediaType: OCI_MANIFEST, digest: sha256Digest(bytes), blobs: [config, ...blobs] };
}

/** Signs `digest` with `key` and returns the layer cosign would append. */
export function signatureLayer(key: SigningKey, target: { dockerReference: string; digest: string; annotations?: Record<string, string> }): SignatureLayer {
  const payload = simpleSigningPayload(target.dockerReference, target.digest, target.annotations);
  const blob = blobOf(payload, SIMPLE_SIGNING_MEDIA_TYPE);
  const signature = key.sign(payload).toString('base64');
  return { descriptor: descriptorOf(blob, { annotations: { [SIGNATURE_ANNOTATION]: signature } }), payload };
}

export function parseSignatureManifest(bytes: Buffer): ImageManifestJson {
  const m = parseJson<ImageManifestJson>(bytes, 'signature manifest');
  if (m?.schemaVersion !== 2 || !Array.isArray(m.layers) || !m.config) throw new Error('signature manifest: not an image manifest');
  return m;
}

export interface MergeOptions {
  /** Payload blobs of the existing layers, by digest (only needed for the key check below). */
  payloads?: ReadonlyMap<string, Buffer>;
  /**
   * When set, an existing layer counts as "the same signature" if its payload
   * claims the same digest and its signature verifies with this key. ECDSA
   * signatures are randomized, so comparing bytes alone would re-sign forever.
   */
  key?: VerificationKey;
}

function claimedDigest(payload: Buffer | undefined): string | undefined {
  if (!payload) return undefined;
  try {
    return parseSimpleSigningPayload(payload).critical.image['docker-manifest-digest'];
  } catch {
    return undefined;
  }
}

/**
 * Appends `add` to an existing `.sig` manifest (or starts one). Returns
 * changed=false and the existing manifest untouched when the same signature
 * (identical layer, or a valid signature by `options.key` over the same
 * digest) is already there. Existing layers keep their bytes and order.
 */
export function mergeSignatureArtifact(
  existingManifest: Buffer | undefined,
  add: SignatureLayer,
  options: MergeOptions = {},
): { changed: boolean; artifact: SignatureArtifact } {
  const digest = claimedDigest(add.payload);
  if (!digest) throw new Error('signature layer payload does not name a digest');
  const newBlob = blobOf(add.payload, add.descriptor.mediaType);
  if (!existingManifest) {
    return { changed: true, artifact: { ...signatureManifest(digest, [add.descriptor], [newBlob], EMPTY_CONFIG), layer: add } };
  }
  const existing = parseSignatureManifest(existingManifest);
  const addSig = add.descriptor.annotations?.[SIGNATURE_ANNOTATION];
  const duplicate = existing.layers.some((layer) => {
    if (layer.digest === add.descriptor.digest && layer.annotations?.[SIGNATURE_ANNOTATION] === addSig) return true;
    if (!options.key) return false;
    const payload = options.payloads?.get(layer.digest);
    if (!payload || sha256Digest(payload) !== layer.digest || claimedDigest(payload) !== digest) return false;
    const sig = layer.annotations?.[SIGNATURE_ANNOTATION];
    return !!sig && verifyWithKey(options.key, payload, Buffer.from(sig, 'base64'));
  });
  if (duplicate) {
    return {
      changed: false,
      artifact: {
        tag: signatureTag(digest),
        manifest: existingManifest,
        mediaType: existing.mediaType ?? OCI_MANIFEST,
        digest: sha256Digest(existingManifest),
        blobs: [],
      },
    };
  }
  const known = [...(options.payloads ?? new Map<string, Buffer>()).entries()]
    .filter(([d]) => existing.layers.some((l) => l.digest === d))
    .map(([, bytes]) => blobOf(bytes, SIMPLE_SIGNING_MEDIA_TYPE));
  const blobs = [...known.filter((b) => b.digest !== newBlob.digest), newBlob];
  // A manifest that has the empty config keeps it; one cosign started keeps cosign's form (diff_ids).
  const config = existing.config.mediaType === OCI_EMPTY ? EMPTY_CONFIG : undefined;
  return { changed: true, artifact: { ...signatureManifest(digest, [...existing.layers, add.descriptor], blobs, config), layer: add } };
}
