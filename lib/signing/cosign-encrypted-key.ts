// Decrypts cosign's password-protected private keys ("ENCRYPTED SIGSTORE
// PRIVATE KEY", formerly "ENCRYPTED COSIGN PRIVATE KEY"). The PEM body is a
// JSON document: scrypt derives a 32-byte key from the password and salt,
// and NaCl secretbox (XSalsa20-Poly1305) seals the PKCS#8 DER private key.
import { scryptSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { SigningError } from './errors';

interface EncryptedKeyDocument {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

export const COSIGN_ENCRYPTED_PEM_TYPES = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'] as const;

function parseDocument(body: Buffer): EncryptedKeyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SigningError('KEY_FORMAT', 'encrypted cosign key: body is not JSON');
  }
  const d = doc as Partial<EncryptedKeyDocument>;
  if (
    !d?.kdf ||
    d.kdf.name !== 'scrypt' ||
    !d.kdf.params ||
    typeof d.kdf.salt !== 'string' ||
    !d.cipher ||
    d.cipher.name !== 'nacl/secretbox' ||
    typeof d.cipher.nonce !== 'string' ||
    typeof d.ciphertext !== 'string'
  ) {
    throw new SigningError('KEY_FORMAT', 'encrypted cosign key: expected scrypt + nacl/secretbox');
  }
  return d as EncryptedKeyDocument;
}

/** Returns the PKCS#8 DER bytes sealed inside a cosign encrypted key body. */
export function decryptCosignKey(body: Buffer, password: string): Buffer {
  const doc = parseDocument(body);
  const { N, r, p } = doc.kdf.params;
  // scrypt needs 128*N*r bytes; node's default cap (32 MiB) is below cosign's N=65536.
  const derived = scryptSync(Buffer.from(password, 'utf8'), Buffer.from(doc.kdf.salt, 'base64'), 32, {
    N,
    r,
    p,
    maxmem: 256 * N * r + 1024 * 1024,
  });
  const nonce = Buffer.from(doc.cipher.nonce, 'base64');
  if (nonce.length !== nacl.secretbox.nonceLength) {
    throw new SigningError('KEY_FORMAT', 'encrypted cosign key: bad nonce length');
  }
  const opened = nacl.secretbox.open(Buffer.from(doc.ciphertext, 'base64'), nonce, derived);
  derived.fill(0);
  if (!opened) {
    throw new SigningError('KEY_PASSWORD', 'encrypted cosign key: wrong password or corrupted key');
  }
  return Buffer.from(opened);
}
