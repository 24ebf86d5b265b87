// Verification of cosign's legacy `.sig` signature manifests against keys or,
// for layers with a Fulcio certificate, keyless identities (verify-keyless-signature.ts).
// Mirrors what `cosign verify --key` checks on that format: the payload blob
// matches its layer digest, the signature annotation verifies over the payload
// bytes, and the payload's critical.image.docker-manifest-digest is the image.
import type { VerificationKey } from './signing-keys';
import { verifyWithKey } from './signing-keys';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from './media-types';
import { sha256Digest } from './oci-artifact';
import { parseSignatureManifest, parseSimpleSigningPayload } from './simple-signing';
import { errorMessage } from './errors';
import type { KeylessTrust } from './verify-bundle';
import { verifyKeylessLayer } from './verify-keyless-signature';

export interface LegacySigner {
  /** Key-based: the key's hint. */
  keyHint?: string;
  /** Keyless: the certificate's identity. */
  subjectAlternativeName?: string;
  issuer?: string;
  layerDigest: string;
  dockerReference: string;
  optional: Record<string, string> | null;
}

export interface SignatureVerification {
  valid: boolean;
  signers: LegacySigner[];
  errors: string[];
}

export type GetBlob = (digest: string) => Promise<Buffer>;

export async function verifyCosignSignature(
  manifestBytes: Buffer,
  getBlob: GetBlob,
  options: { digest: string; keys?: VerificationKey[]; keyless?: KeylessTrust; annotations?: Record<string, string> },
): Promise<SignatureVerification> {
  const errors: string[] = [];
  const signers: LegacySigner[] = [];
  let layers;
  try {
    layers = parseSignatureManifest(manifestBytes).layers;
  } catch (err) {
    return { valid: false, signers, errors: [errorMessage(err)] };
  }
  const keys = options.keys ?? [];
  if (keys.length === 0 && !options.keyless) errors.push('no verification keys configured');
  for (const layer of layers) {
    const where = `layer ${layer.digest}`;
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) continue;
    const sig = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (!sig) {
      errors.push(`${where}: no signature annotation`);
      continue;
    }
    let payload: Buffer;
    try {
      payload = await getBlob(layer.digest);
    } catch (err) {
      errors.push(`${where}: fetching payload: ${errorMessage(err)}`);
      continue;
    }
    if (sha256Digest(payload) !== layer.digest) {
      errors.push(`${where}: payload does not match its digest`);
      continue;
    }
    const key = keys.find((k) => verifyWithKey(k, payload, Buffer.from(sig, 'base64')));
    let identity: { subjectAlternativeName?: string; issuer?: string } | undefined;
    if (!key && options.keyless) {
      const v = verifyKeylessLayer(layer.annotations ?? {}, payload, options.keyless);
      if (v.error) errors.push(`${where}: ${v.error}`);
      identity = v.signer;
    }
    if (!key && !identity) {
      if (keys.length > 0 || !options.keyless) errors.push(`${where}: signature does not verify with any configured key`);
      continue;
    }
    let claim;
    try {
      claim = parseSimpleSigningPayload(payload);
    } catch (err) {
      errors.push(`${where}: ${errorMessage(err)}`);
      continue;
    }
    const claimed = claim.critical.image['docker-manifest-digest'];
    if (claimed !== options.digest) {
      errors.push(`${where}: signed digest ${claimed} is not ${options.digest}`);
      continue;
    }
    const wanted = Object.entries(options.annotations ?? {});
    if (wanted.some(([k, v]) => claim.optional?.[k] !== v)) {
      errors.push(`${where}: missing or different annotations`);
      continue;
    }
    signers.push({
      ...(key ? { keyHint: key.keyHint } : identity),
      layerDigest: layer.digest,
      dockerReference: claim.critical.identity['docker-reference'],
      optional: claim.optional,
    });
  }
  if (layers.length === 0) errors.push('signature manifest has no layers');
  return { valid: signers.length > 0, signers, errors };
}
