// Keyless image signatures in both formats cosign reads, from one configuration:
//
//  - bundle: a sigstore bundle v0.3, DSSE over the in-toto statement cosign v3 `sign` writes
//    (predicateType https://sigstore.dev/cosign/sign/v1), with the Fulcio certificate, the Rekor
//    entry and an RFC 3161 timestamp. Attach it with the SignatureWriter (as a referrer).
//  - legacy: the layer of a `sha256-<hex>.sig` manifest: the simple-signing payload, its signature,
//    and in annotations the Fulcio certificate (dev.sigstore.cosign/certificate), the CA chain
//    (dev.sigstore.cosign/chain) and the RFC 3161 timestamp over the signature
//    (dev.sigstore.cosign/rfc3161timestamp), exactly as cosign v3 writes them. The signature is
//    also logged in Rekor when one is configured, but the legacy layer cannot carry that entry:
//    its dev.sigstore.cosign/bundle annotation holds a Rekor v1 signed entry timestamp, which
//    Rekor v2 does not make, and cosign verifies a legacy signature's log entry only through
//    the Rekor v1 API. Legacy keyless signatures are therefore verified on the timestamp
//    (cosign: --insecure-ignore-tlog --use-signed-timestamps); the log entry is returned.
//
// Each signature gets its own short-lived certificate (a fresh ephemeral key each time).
import type { SerializedBundle } from '@sigstore/bundle';
import { bundleToJSON } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder } from '@sigstore/sign';
import { X509Certificate } from 'node:crypto';
import { buildDsseBundle } from './bundle';
import { keylessParts, toSigningError, type KeylessConfig } from './keyless';
import {
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  IN_TOTO_PAYLOAD_TYPE,
  RFC3161_TIMESTAMP_ANNOTATION,
  SIGNATURE_ANNOTATION,
  SIGSTORE_BUNDLE_V03,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from './media-types';
import { blobOf, descriptorOf } from './oci-artifact';
import type { SignatureLayer } from './simple-signing';
import { simpleSigningPayload } from './simple-signing';
import { cosignSignStatement, type Statement } from './statements';

export interface KeylessImageTarget {
  /** docker-reference of the simple-signing payload: the repository, `host/repository`, as cosign writes. */
  dockerReference: string;
  digest: string;
  annotations?: Record<string, string>;
}

interface KeylessLegacySignature {
  layer: SignatureLayer;
  /** The message-signature bundle the layer was made from (certificate, Rekor entry, timestamp). */
  bundle: SerializedBundle;
}

export interface KeylessImageSignatures {
  bundle?: SerializedBundle;
  legacy?: KeylessLegacySignature;
}

export type KeylessFormat = 'legacy' | 'bundle' | 'both';

/** DSSE-signs an in-toto statement (e.g. the promotion attestation) keylessly into a v0.3 bundle. */
export async function signStatementKeyless(config: KeylessConfig, statement: Statement<unknown>): Promise<SerializedBundle> {
  const { signer, witnesses } = keylessParts(config);
  try {
    return await buildDsseBundle(signer, witnesses, statement, IN_TOTO_PAYLOAD_TYPE);
  } catch (err) {
    throw toSigningError(err, config);
  }
}

const pem = (der: Buffer | Uint8Array) => new X509Certificate(Buffer.from(der)).toString();

/**
 * The CA chain above Fulcio's certificates, PEM, for the chain annotation: Fulcio's own trust
 * bundle (sigstore-js keeps only the leaf). Empty when Fulcio does not say (cosign writes it empty
 * too). Asked once per Fulcio URL for as long as its holder lives (the worker keeps one); an empty
 * or failed answer is asked again next time.
 */
export class FulcioChains {
  private readonly chains = new Map<string, Promise<string>>();

  constructor(private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init)) {}

  of(config: KeylessConfig): Promise<string> {
    let chain = this.chains.get(config.fulcioURL);
    if (!chain) {
      chain = this.read(config);
      this.chains.set(config.fulcioURL, chain);
      void chain.then((c) => c || this.chains.delete(config.fulcioURL));
    }
    return chain;
  }

  private async read(config: KeylessConfig): Promise<string> {
    try {
      const res = await this.fetchFn(`${config.fulcioURL.replace(/\/$/, '')}/api/v2/trustBundle`, { signal: AbortSignal.timeout(config.timeoutMs) });
      if (!res.ok) return '';
      const body = (await res.json()) as { chains?: { certificates?: string[] }[] };
      return (body.chains?.[0]?.certificates ?? []).map((c) => c.trim() + '\n').join('');
    } catch {
      return '';
    }
  }
}

/**
 * sigstore-js still writes message-signature bundles as v0.2 (leaf in x509CertificateChain);
 * v0.3 carries the leaf alone in `certificate`, as DSSE bundles and cosign do.
 */
function v03(bundle: SerializedBundle): SerializedBundle {
  const { x509CertificateChain, ...material } = bundle.verificationMaterial;
  const leaf = x509CertificateChain?.certificates[0];
  if (!leaf) return bundle;
  return { ...bundle, mediaType: SIGSTORE_BUNDLE_V03, verificationMaterial: { ...material, certificate: leaf } } as SerializedBundle;
}

/** The `.sig` layer of a keyless signature: payload, signature, certificate, chain, timestamp. */
async function signLegacyKeyless(
  config: KeylessConfig,
  target: KeylessImageTarget,
  chains: FulcioChains = new FulcioChains(),
): Promise<KeylessLegacySignature> {
  const payload = simpleSigningPayload(target.dockerReference, target.digest, target.annotations);
  const { signer, witnesses } = keylessParts(config);
  let bundle: SerializedBundle;
  try {
    bundle = v03(bundleToJSON(await new MessageSignatureBundleBuilder({ signer, witnesses }).create({ data: payload })));
  } catch (err) {
    throw toSigningError(err, config);
  }
  const certificate = bundle.verificationMaterial.certificate?.rawBytes;
  const signature = bundle.messageSignature?.signature;
  if (!certificate || !signature) throw toSigningError(new Error('Fulcio signer returned no certificate'), config);
  const annotations: Record<string, string> = {
    [SIGNATURE_ANNOTATION]: signature,
    [CERTIFICATE_ANNOTATION]: pem(Buffer.from(certificate, 'base64')),
    [CHAIN_ANNOTATION]: await chains.of(config),
  };
  const timestamp = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.[0]?.signedTimestamp;
  if (timestamp) annotations[RFC3161_TIMESTAMP_ANNOTATION] = JSON.stringify({ SignedRFC3161Timestamp: timestamp });
  const blob = blobOf(payload, SIMPLE_SIGNING_MEDIA_TYPE);
  return { layer: { descriptor: descriptorOf(blob, { annotations }), payload }, bundle };
}

/** Signs an image digest keylessly in the requested formats (default both). */
export async function signImageKeyless(
  config: KeylessConfig,
  target: KeylessImageTarget,
  format: KeylessFormat = 'both',
  chains?: FulcioChains,
): Promise<KeylessImageSignatures> {
  const out: KeylessImageSignatures = {};
  if (format === 'bundle' || format === 'both') out.bundle = await signStatementKeyless(config, cosignSignStatement(target.digest, target.annotations));
  if (format === 'legacy' || format === 'both') out.legacy = await signLegacyKeyless(config, target, chains);
  return out;
}
