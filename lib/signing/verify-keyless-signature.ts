// Keyless verification of one layer of a legacy `.sig` manifest (what `cosign verify
// --new-bundle-format=false --certificate-identity ... --certificate-oidc-issuer ...` checks):
// the layer's Fulcio certificate chains to a CA of the trusted root and names an allowed identity,
// the signature over the payload verifies with it, and the certificate was valid when the
// signature was made, which an RFC 3161 timestamp from a trusted TSA proves
// (dev.sigstore.cosign/rfc3161timestamp; a Rekor v1 signed entry timestamp is not read). The
// annotations are rebuilt into a message-signature bundle and checked by @sigstore/verify, so the
// same code verifies both formats.
import type { SerializedBundle } from '@sigstore/bundle';
import { createHash, X509Certificate } from 'node:crypto';
import { errorMessage } from './errors';
import { CERTIFICATE_ANNOTATION, RFC3161_TIMESTAMP_ANNOTATION, SIGNATURE_ANNOTATION } from './media-types';
import { verifyBundle, type BundleSigner, type KeylessTrust } from './verify-bundle';

export interface KeylessLayerVerification {
  signer?: BundleSigner;
  error?: string;
}

function timestampOf(annotation: string | undefined): string | undefined {
  if (!annotation) return undefined;
  try {
    const value = (JSON.parse(annotation) as { SignedRFC3161Timestamp?: unknown }).SignedRFC3161Timestamp;
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The message-signature bundle a legacy keyless layer amounts to. */
function legacyLayerBundle(annotations: Record<string, string>, payload: Buffer): SerializedBundle | undefined {
  const certificate = annotations[CERTIFICATE_ANNOTATION];
  const signature = annotations[SIGNATURE_ANNOTATION];
  if (!certificate || !signature) return undefined;
  const timestamp = timestampOf(annotations[RFC3161_TIMESTAMP_ANNOTATION]);
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: new X509Certificate(certificate).raw.toString('base64') },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: timestamp ? [{ signedTimestamp: timestamp }] : [] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(payload).digest('base64') },
      signature,
    },
  } as unknown as SerializedBundle;
}

/** Verifies one legacy layer by identity; the payload must already match the layer digest. */
export function verifyKeylessLayer(annotations: Record<string, string>, payload: Buffer, trust: KeylessTrust): KeylessLayerVerification {
  let bundle: SerializedBundle | undefined;
  try {
    bundle = legacyLayerBundle(annotations, payload);
  } catch (err) {
    return { error: `unreadable certificate: ${errorMessage(err)}` };
  }
  if (!bundle) return { error: 'no certificate annotation (not a keyless signature)' };
  // The legacy layer cannot carry a Rekor v2 entry (see keyless-image.ts): the timestamp is the
  // evidence, so no log entry is required here whatever the trust says for bundles.
  const v = verifyBundle(bundle, { keyless: { ...trust, tlogThreshold: 0 }, artifact: payload });
  return v.ok && v.signer ? { signer: v.signer } : { error: v.errors.join('; ') || 'does not verify' };
}
