// Verification of sigstore bundles with @sigstore/verify.
//
// Key-based (what `cosign verify --key K --insecure-ignore-tlog` accepts):
// trust material holds only the supplied key, and the Verifier runs with zero
// tlog / CT log / timestamp thresholds. Transparency-log entries and RFC 3161
// timestamps in the bundle are ignored in that mode, like cosign's
// --insecure-ignore-tlog; the key is trusted for any time.
//
// Keyless (Fulcio certificates): a sigstore TrustedRoot (Fulcio CA, Rekor,
// CT log, TSA keys) and identities (issuer + subject or subject regexp, matched
// exactly by identity-policy.ts). At least one verified timestamp (Rekor
// integrated time or TSA) is required: the certificate chain is checked at
// those times, and @sigstore/verify checks no chain when given none.
import type { Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { bundleStatement, parseBundle, type SerializedBundle } from './bundle';
import { errorMessage } from './errors';
import { identityMatchers, type IdentityMatcher, type KeylessIdentity } from './identity-policy';
import type { VerificationKey } from './signing-keys';
import { statementHasSubjectDigest, type Statement } from './statements';

export interface KeylessTrust {
  /** TrustedRoot JSON (as in sigstore's trusted_root.json). */
  trustedRoot: unknown;
  identities: KeylessIdentity[];
  tlogThreshold?: number;
  ctlogThreshold?: number;
  timestampThreshold?: number;
}

export interface BundleSigner {
  keyHint?: string;
  subjectAlternativeName?: string;
  issuer?: string;
}

export interface BundleVerification {
  ok: boolean;
  signer?: BundleSigner;
  statement?: Statement;
  predicateType?: string;
  errors: string[];
}

export interface VerifyBundleOptions {
  keys?: VerificationKey[];
  keyless?: KeylessTrust;
  /** The image digest the bundle must be about (in-toto subject, or message digest). */
  expectedDigest?: string;
  /** Required predicateType of the DSSE statement. */
  predicateType?: string;
  /** Signed bytes, needed only for message-signature bundles. */
  artifact?: Buffer;
}

const EMPTY_ROOT = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

function withoutWitnesses(bundle: Bundle): Bundle {
  return {
    ...bundle,
    verificationMaterial: {
      ...bundle.verificationMaterial,
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
  };
}

function verifyWithKeys(bundle: Bundle, keys: VerificationKey[], artifact: Buffer | undefined, errors: string[]): BundleSigner | undefined {
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    errors.push('bundle carries a certificate, not a public key hint');
    return undefined;
  }
  const entity = toSignedEntity(withoutWitnesses(bundle), artifact);
  for (const key of keys) {
    // cosign accepts the supplied key whatever the hint says; do the same.
    const trust = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey: key.publicKey, validFor: () => true }));
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    try {
      verifier.verify(entity);
      return { keyHint: key.keyHint };
    } catch {
      // try the next key
    }
  }
  errors.push(`signature does not verify with any of ${keys.length} configured key(s)`);
  return undefined;
}

function verifyKeyless(bundle: Bundle, trust: KeylessTrust, artifact: Buffer | undefined, errors: string[]): BundleSigner | undefined {
  const content = bundle.verificationMaterial.content.$case;
  if (content !== 'certificate' && content !== 'x509CertificateChain') {
    errors.push('bundle carries a public key hint, not a certificate');
    return undefined;
  }
  if (trust.identities.length === 0) {
    errors.push('keyless verification needs at least one identity');
    return undefined;
  }
  let matchers: IdentityMatcher[];
  try {
    matchers = identityMatchers(trust.identities);
  } catch (err) {
    errors.push(`identity policy: ${errorMessage(err)}`);
    return undefined;
  }
  const timestampThreshold = trust.timestampThreshold ?? 1;
  if (timestampThreshold < 1) {
    errors.push('keyless verification needs timestampThreshold >= 1');
    return undefined;
  }
  let verifier: Verifier;
  try {
    const material = toTrustMaterial(TrustedRoot.fromJSON(trust.trustedRoot));
    // A trusted root that names no CT log (a private Sigstore without one) cannot vouch for an SCT:
    // none is required then, as `cosign verify --insecure-ignore-sct`. One that names logs requires them.
    const root = trust.trustedRoot as { ctlogs?: unknown[]; tlogs?: unknown[] };
    verifier = new Verifier(material, {
      tlogThreshold: trust.tlogThreshold ?? (root.tlogs?.length ? 1 : 0),
      ctlogThreshold: trust.ctlogThreshold ?? (root.ctlogs?.length ? 1 : 0),
      timestampThreshold,
    });
  } catch (err) {
    errors.push(`trusted root: ${errorMessage(err)}`);
    return undefined;
  }
  const entity = toSignedEntity(bundle, artifact);
  for (const matcher of matchers) {
    try {
      const signer = verifier.verify(entity, matcher.libraryPolicy);
      const found = { subjectAlternativeName: signer.identity?.subjectAlternativeName, issuer: signer.identity?.extensions?.issuer };
      // The library's own policy check is not enough on its own (see identity-policy.ts).
      const mismatch = matcher.mismatch(found);
      if (mismatch) throw new Error(mismatch);
      return found;
    } catch (err) {
      errors.push(`identity ${matcher.label}: ${errorMessage(err)}`);
    }
  }
  return undefined;
}

export function verifyBundle(bundleJson: SerializedBundle | Buffer | string, options: VerifyBundleOptions): BundleVerification {
  const errors: string[] = [];
  let bundle: Bundle;
  let statement: Statement | undefined;
  try {
    bundle = parseBundle(bundleJson);
    statement = bundleStatement(bundle);
  } catch (err) {
    return { ok: false, errors: [`invalid bundle: ${errorMessage(err)}`] };
  }
  if (bundle.content.$case === 'messageSignature' && !options.artifact) {
    return { ok: false, errors: ['message-signature bundle: the signed artifact bytes are needed'] };
  }

  let signer: BundleSigner | undefined;
  try {
    if (options.keys && options.keys.length > 0) signer = verifyWithKeys(bundle, options.keys, options.artifact, errors);
    if (!signer && options.keyless) signer = verifyKeyless(bundle, options.keyless, options.artifact, errors);
    if (!options.keys?.length && !options.keyless) errors.push('no keys and no keyless trust configured');
  } catch (err) {
    errors.push(errorMessage(err));
  }
  if (!signer) return { ok: false, statement, predicateType: statement?.predicateType, errors };
  errors.length = 0; // failed attempts with other keys or identities do not matter once one verified

  if (options.expectedDigest) {
    if (bundle.content.$case === 'dsseEnvelope') {
      if (!statement) errors.push('DSSE payload is not an in-toto statement');
      else if (!statementHasSubjectDigest(statement, options.expectedDigest)) errors.push(`no statement subject has digest ${options.expectedDigest}`);
    } else {
      const md = bundle.content.messageSignature.messageDigest;
      const got = md ? `sha256:${Buffer.from(md.digest).toString('hex')}` : undefined;
      if (got !== options.expectedDigest) errors.push(`message digest ${got ?? '(none)'} is not ${options.expectedDigest}`);
    }
  }
  if (options.predicateType && statement?.predicateType !== options.predicateType) {
    errors.push(`predicateType ${statement?.predicateType ?? '(none)'} is not ${options.predicateType}`);
  }
  return { ok: errors.length === 0, signer, statement, predicateType: statement?.predicateType, errors };
}
