// Plain DSSE envelopes (the layers of cosign's legacy `.att` manifests).
import { dsse } from '@sigstore/core';
import type { VerificationKey } from './signing-keys';
import { verifyWithKey } from './signing-keys';
import { parseJson } from './oci-artifact';

export interface DsseEnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

export function parseEnvelope(bytes: Buffer | string | DsseEnvelopeJson): DsseEnvelopeJson {
  const env = Buffer.isBuffer(bytes) || typeof bytes === 'string' ? parseJson<DsseEnvelopeJson>(bytes, 'DSSE envelope') : bytes;
  if (typeof env?.payloadType !== 'string' || typeof env.payload !== 'string' || !Array.isArray(env.signatures)) {
    throw new Error('DSSE envelope: needs payloadType, payload and signatures');
  }
  return env;
}

/** Returns the key that signed the envelope (any of its signatures), or undefined. */
export function verifyEnvelope(env: DsseEnvelopeJson, keys: VerificationKey[]): VerificationKey | undefined {
  const pae = dsse.preAuthEncoding(env.payloadType, Buffer.from(env.payload, 'base64'));
  for (const s of env.signatures) {
    if (typeof s?.sig !== 'string' || s.sig === '') continue;
    const key = keys.find((k) => verifyWithKey(k, pae, Buffer.from(s.sig, 'base64')));
    if (key) return key;
  }
  return undefined;
}
