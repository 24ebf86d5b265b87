import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder } from '@sigstore/sign';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { localKeySigner, type SigningKey } from '../../../lib/signing';

export function fixture(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)));
}

export const COSIGN_FIXTURE_PASSWORD = 'fixture-password';
export const fixtureDigest = (): string => fixture('image.digest').toString().trim();

/** A fresh P-256 pair as PEM strings (PKCS#8 private, SPKI public). */
export function p256Pair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;

/**
 * A message-signature bundle over arbitrary bytes, as other signers make them (the promoter itself
 * signs statements and images only): what verifyBundle must accept with the artifact in hand.
 */
export async function signMessageBundle(key: SigningKey, data: Buffer): Promise<SerializedBundle> {
  const builder = new MessageSignatureBundleBuilder({ signer: localKeySigner(key), witnesses: [] });
  return bundleToJSON(await builder.create({ data }));
}
