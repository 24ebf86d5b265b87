// Rekor v2 entries for DSSE signatures. Rekor v2 (rekor-tiles 2.4) accepts only hashedrekord
// v0.0.2 entries; a DSSE envelope is logged as a hashedrekord over the digest of its
// pre-authentication encoding (PAE), the bytes its signature covers. cosign (sigstore-go) logs
// DSSE that way and @sigstore/verify checks such entries, but @sigstore/sign 5.1 still sends a
// dsse v0.0.2 request, which Rekor v2 refuses ("invalid type, must be hashedrekord"). This
// witness hands the stock Rekor v2 client the hashedrekord form instead.
import { crypto, dsse } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { RekorWitness, type RekorWitnessOptions, type SignatureBundle, type Witness } from '@sigstore/sign';

/** The hashedrekord form of a signature: a DSSE envelope becomes (sha256(PAE), signature). */
function asHashedRekord(content: SignatureBundle): SignatureBundle {
  if (content.$case !== 'dsseEnvelope') return content;
  const env = content.dsseEnvelope;
  const signature = env.signatures[0]?.sig;
  if (!signature) throw new Error('DSSE envelope has no signature to log');
  return {
    $case: 'messageSignature',
    messageSignature: {
      messageDigest: { algorithm: HashAlgorithm.SHA2_256, digest: crypto.digest('sha256', dsse.preAuthEncoding(env.payloadType, env.payload)) },
      signature,
    },
  };
}

export function rekorV2Witness(options: Omit<RekorWitnessOptions, 'majorApiVersion' | 'entryType'>): Witness {
  const rekor = new RekorWitness({ ...options, majorApiVersion: 2 });
  return { testify: (content, publicKey) => rekor.testify(asHashedRekord(content), publicKey) };
}
