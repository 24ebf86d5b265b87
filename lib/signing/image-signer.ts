// Who signs: the worker's local key, or a keyless identity certified by Fulcio. Both make the same
// things: a SignatureSet for an image digest (the legacy `.sig` layer and/or the v3 bundle) and a
// DSSE bundle for an in-toto statement (the promotion attestation).
//
// A SignatureSet is plain JSON: it is archived in the audit bucket before it is attached anywhere,
// so a retried or resumed activity attaches the very same bytes (ECDSA signatures differ each time,
// a keyless one even gets a new certificate and log entry) and every mirror gets what the primary got.
import type { SerializedBundle } from '@sigstore/bundle';
import { signDsseBundle, signImageBundle } from './bundle';
import type { KeylessConfig } from './keyless';
import { FulcioChains, signImageKeyless, signStatementKeyless } from './keyless-image';
import type { Descriptor } from './oci-artifact';
import { signatureLayer, type SignatureLayer } from './simple-signing';
import type { SigningKey } from './signing-keys';
import type { Statement } from './statements';

export type SignatureFormat = 'legacy' | 'bundle' | 'both';

/** What the promoter signed for one manifest digest, as archived (bytes in base64). */
export interface SignatureSet {
  digest: string;
  /** The signer and formats (SignatureSigner.mark): what the tag record notes as "signed by us". */
  mark: string;
  /** The `.sig` layer: its descriptor (with the signature annotations) and the simple-signing payload. */
  legacy?: { descriptor: Descriptor; payload: string };
  /** The cosign/sign/v1 DSSE bundle, and the creation time its referrer manifest carries (fixed, so every copy is byte-identical). */
  bundle?: { bundle: SerializedBundle; created: string };
}

export interface ImageSigner {
  /** Identifies signer and formats in records: another key, identity or format means "not signed by us". */
  readonly mark: string;
  signImage(target: { dockerReference: string; digest: string }): Promise<SignatureSet>;
  signStatement(statement: Statement<unknown>): Promise<SerializedBundle>;
}

export function legacyLayerOf(set: SignatureSet): SignatureLayer | undefined {
  return set.legacy && { descriptor: set.legacy.descriptor, payload: Buffer.from(set.legacy.payload, 'base64') };
}

/** A SignatureSet from what a signer made: the `.sig` layer and/or the bundle, stamped `now`. */
export function signatureSetOf(
  digest: string,
  mark: string,
  parts: { layer?: SignatureLayer; bundle?: SerializedBundle },
  now: Date = new Date(),
): SignatureSet {
  const set: SignatureSet = { digest, mark };
  if (parts.layer) set.legacy = { descriptor: parts.layer.descriptor, payload: parts.layer.payload.toString('base64') };
  // Second precision, like cosign's org.opencontainers.image.created.
  if (parts.bundle) set.bundle = { bundle: parts.bundle, created: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  return set;
}

const wants = (format: SignatureFormat) => ({ legacy: format !== 'bundle', bundle: format !== 'legacy' });

/** Signs with the worker's ECDSA P-256 key, offline (no Fulcio, no log). */
export class KeySigner implements ImageSigner {
  readonly mark: string;

  constructor(
    private readonly key: SigningKey,
    private readonly format: SignatureFormat,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.mark = `${format}:${key.keyHint}`;
  }

  async signImage(target: { dockerReference: string; digest: string }): Promise<SignatureSet> {
    const w = wants(this.format);
    return signatureSetOf(
      target.digest,
      this.mark,
      {
        ...(w.legacy ? { layer: signatureLayer(this.key, target) } : {}),
        ...(w.bundle ? { bundle: await signImageBundle(this.key, target.digest) } : {}),
      },
      this.now(),
    );
  }

  signStatement(statement: Statement<unknown>): Promise<SerializedBundle> {
    return signDsseBundle(this.key, statement);
  }
}

/** Signs keyless: a short-lived Fulcio certificate for the worker's identity, Rekor and a timestamp. */
export class KeylessSigner implements ImageSigner {
  readonly mark: string;

  constructor(
    private readonly config: KeylessConfig,
    identity: { subject: string; issuer: string },
    private readonly format: SignatureFormat,
    /** Fulcio's CA chain, kept by the caller across signers (a worker makes a signer per activity). */
    private readonly chains: FulcioChains = new FulcioChains(),
    private readonly now: () => Date = () => new Date(),
  ) {
    this.mark = `${format}:keyless:${identity.subject}@${identity.issuer}`;
  }

  async signImage(target: { dockerReference: string; digest: string }): Promise<SignatureSet> {
    const signed = await signImageKeyless(this.config, target, this.format, this.chains);
    return signatureSetOf(
      target.digest,
      this.mark,
      { ...(signed.legacy ? { layer: signed.legacy.layer } : {}), ...(signed.bundle ? { bundle: signed.bundle } : {}) },
      this.now(),
    );
  }

  signStatement(statement: Statement<unknown>): Promise<SerializedBundle> {
    return signStatementKeyless(this.config, statement);
  }
}
