// Signing and verification keys.
//
// A SigningKey keeps its private key in a true private field: it cannot leak
// through JSON.stringify, util.inspect, String() or structured logging.
// The key hint is what cosign v3 writes in bundles
// (verificationMaterial.publicKey.hint): base64(sha256(SPKI DER)).
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { COSIGN_ENCRYPTED_PEM_TYPES, decryptCosignKey } from './cosign-encrypted-key';
import { SigningError, errorMessage } from './errors';

export interface VerificationKey {
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyHint: string;
}

export interface SigningKey extends VerificationKey {
  /** ECDSA P-256 over SHA-256 of data, ASN.1 DER encoded (what cosign writes and reads). */
  sign(data: Buffer): Buffer;
}

interface PemBlock {
  type: string;
  body: Buffer;
  text: string;
}

function firstPemBlock(pem: string): PemBlock {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new SigningError('KEY_FORMAT', 'no PEM block found');
  const type = m[1]!;
  // Encrypted PKCS#8 and SEC1 may carry headers; those are parsed by node, so
  // only the base64 body matters here.
  const base64 = m[2]!
    .split('\n')
    .filter((l) => !l.includes(':'))
    .join('')
    .replace(/\s+/g, '');
  return { type, body: Buffer.from(base64, 'base64'), text: m[0] };
}

export function keyHintOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

function publicPem(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

function assertP256(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind = key.asymmetricKeyType === 'ec' ? `ec ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
    throw new SigningError('KEY_UNSUPPORTED', `signing key must be ECDSA P-256, got ${kind}`);
  }
}

class LocalSigningKey implements SigningKey {
  readonly #privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly keyHint: string;

  constructor(privateKey: KeyObject) {
    assertP256(privateKey);
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    this.publicKeyPem = publicPem(this.publicKey);
    this.keyHint = keyHintOf(this.publicKey);
  }

  sign(data: Buffer): Buffer {
    return cryptoSign('sha256', data, { key: this.#privateKey, dsaEncoding: 'der' });
  }

  toJSON(): object {
    return { type: 'SigningKey', keyHint: this.keyHint };
  }

  toString(): string {
    return `SigningKey(${this.keyHint})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function privateKeyFromDer(der: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  }
}

/**
 * Loads an ECDSA P-256 private key from PEM: PKCS#8 ("PRIVATE KEY"), SEC1
 * ("EC PRIVATE KEY"), password-protected PKCS#8 ("ENCRYPTED PRIVATE KEY") or
 * cosign's encrypted format ("ENCRYPTED SIGSTORE PRIVATE KEY" /
 * "ENCRYPTED COSIGN PRIVATE KEY", as written by `cosign generate-key-pair`).
 */
export function loadSigningKey(options: { pem: string; password?: string }): SigningKey {
  const block = firstPemBlock(options.pem);
  let privateKey: KeyObject;
  if ((COSIGN_ENCRYPTED_PEM_TYPES as readonly string[]).includes(block.type)) {
    if (options.password === undefined) {
      throw new SigningError('KEY_PASSWORD', `${block.type.toLowerCase()} needs a password`);
    }
    const der = decryptCosignKey(block.body, options.password);
    try {
      privateKey = privateKeyFromDer(der);
    } finally {
      der.fill(0);
    }
  } else if (block.type === 'PRIVATE KEY' || block.type === 'EC PRIVATE KEY' || block.type === 'ENCRYPTED PRIVATE KEY') {
    try {
      privateKey = createPrivateKey({ key: block.text, format: 'pem', passphrase: options.password });
    } catch (err) {
      const needsPassword = block.type === 'ENCRYPTED PRIVATE KEY';
      throw new SigningError(
        needsPassword ? 'KEY_PASSWORD' : 'KEY_FORMAT',
        needsPassword ? 'encrypted private key: wrong or missing password' : `cannot parse ${block.type}: ${errorMessage(err)}`,
      );
    }
  } else {
    throw new SigningError('KEY_FORMAT', `unsupported PEM type for a signing key: ${block.type}`);
  }
  return new LocalSigningKey(privateKey);
}

/** Parses SPKI public keys ("PUBLIC KEY" PEM); each may also be a signing key's public half. */
export function loadVerificationKeys(pems: string[]): VerificationKey[] {
  return pems.map((pem, index) => {
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: pem, format: 'pem' });
    } catch (err) {
      throw new SigningError('KEY_FORMAT', `verification key #${index}: ${errorMessage(err)}`);
    }
    return { publicKey, publicKeyPem: publicPem(publicKey), keyHint: keyHintOf(publicKey) };
  });
}

/** Verifies a raw signature over data, with the digest cosign uses for the key type. */
export function verifyWithKey(key: VerificationKey, data: Buffer, signature: Buffer): boolean {
  const type = key.publicKey.asymmetricKeyType;
  // cosign signs with SHA-256 by default; newer releases pick the curve's own
  // digest for P-384/P-521 keys, so accept either.
  const curve = key.publicKey.asymmetricKeyDetails?.namedCurve;
  const algorithms: (string | null)[] =
    type === 'ed25519' || type === 'ed448' ? [null] : curve === 'secp384r1' ? ['sha256', 'sha384'] : curve === 'secp521r1' ? ['sha256', 'sha512'] : ['sha256'];
  return algorithms.some((algorithm) => {
    try {
      return cryptoVerify(algorithm, data, { key: key.publicKey, dsaEncoding: 'der' }, signature);
    } catch {
      return false;
    }
  });
}
