import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SigningError, keyHintOf, loadSigningKey, loadVerificationKeys, verifyWithKey } from '../../../lib/signing';
import { COSIGN_FIXTURE_PASSWORD, fixture, p256Pair } from './helpers';

const data = Buffer.from('payload to sign');

describe('loadSigningKey', () => {
  it('loads PKCS#8 PEM and signs ECDSA-SHA256 DER that node verifies with the public key', () => {
    const { privatePem, publicPem } = p256Pair();
    const key = loadSigningKey({ pem: privatePem });
    const sig = key.sign(data);
    expect(sig[0]).toBe(0x30); // ASN.1 SEQUENCE: DER, not IEEE P1363
    expect(verify('sha256', data, createPublicKey(publicPem), sig)).toBe(true);
    expect(key.publicKeyPem).toBe(publicPem);
  });

  it('loads SEC1 "EC PRIVATE KEY" PEM', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = loadSigningKey({ pem: privateKey.export({ type: 'sec1', format: 'pem' }).toString() });
    expect(verify('sha256', data, publicKey, key.sign(data))).toBe(true);
  });

  it('loads password-protected PKCS#8 and rejects a wrong password', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(loadSigningKey({ pem, password: 'pw' }).keyHint).toBe(keyHintOf(createPublicKey(privateKey)));
    expect(() => loadSigningKey({ pem, password: 'nope' })).toThrow(/wrong or missing password/);
  });

  it('decrypts a key written by `cosign generate-key-pair` (scrypt + nacl secretbox)', () => {
    const key = loadSigningKey({ pem: fixture('cosign.key').toString(), password: COSIGN_FIXTURE_PASSWORD });
    const [pub] = loadVerificationKeys([fixture('cosign.pub').toString()]);
    expect(key.keyHint).toBe(pub!.keyHint);
    expect(verifyWithKey(pub!, data, key.sign(data))).toBe(true);
  });

  it('rejects the cosign key with a wrong or missing password, without echoing it', () => {
    const pem = fixture('cosign.key').toString();
    let err: unknown;
    try {
      loadSigningKey({ pem, password: 'guess-123' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SigningError);
    expect((err as SigningError).code).toBe('KEY_PASSWORD');
    expect((err as Error).message).not.toContain('guess-123');
    expect(() => loadSigningKey({ pem })).toThrow(/needs a password/);
  });

  it('accepts the older "ENCRYPTED COSIGN PRIVATE KEY" label', () => {
    const pem = fixture('cosign.key').toString().replaceAll('SIGSTORE', 'COSIGN');
    expect(loadSigningKey({ pem, password: COSIGN_FIXTURE_PASSWORD }).keyHint).toMatch(/=$/);
  });

  it('rejects non P-256 keys and garbage', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadSigningKey({ pem: p384 })).toThrow(/P-256/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadSigningKey({ pem: rsa })).toThrow(/P-256/);
    expect(() => loadSigningKey({ pem: 'hello' })).toThrow(/no PEM block/);
  });

  it('never exposes the private key through JSON, inspect or String', () => {
    const { privatePem } = p256Pair();
    const key = loadSigningKey({ pem: privatePem });
    const body = privatePem.split('\n')[1]!.slice(0, 20);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string, @typescript-eslint/restrict-template-expressions -- String(key) and `${key}` are the point: what a careless log line would print
    for (const text of [JSON.stringify(key), inspect(key, { showHidden: true, depth: 5 }), String(key), `${key}`, JSON.stringify({ key })]) {
      expect(text).not.toContain(body);
      expect(text).not.toMatch(/PRIVATE/);
    }
    expect(Object.keys(key)).not.toContain('privateKey');
  });
});

describe('key hints', () => {
  it('equal base64(sha256(SPKI DER)), the hint cosign v3 writes in bundles', () => {
    const [pub] = loadVerificationKeys([fixture('cosign.pub').toString()]);
    const der = createPublicKey(fixture('cosign.pub')).export({ type: 'spki', format: 'der' });
    expect(pub!.keyHint).toBe(createHash('sha256').update(der).digest('base64'));
    const bundle = JSON.parse(fixture('sign.bundle.json').toString());
    expect(bundle.verificationMaterial.publicKey.hint).toBe(pub!.keyHint);
  });

  it('loadVerificationKeys rejects a bad PEM naming its position', () => {
    expect(() => loadVerificationKeys([p256Pair().publicPem, 'junk'])).toThrow(/#1/);
  });
});
