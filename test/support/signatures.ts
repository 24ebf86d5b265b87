// Writing signatures the way the promoter does (an ImageSigner's SignatureSet, written by the
// SignatureWriter with what the repository's tags/list shows), for tests that then hand the
// registry to cosign or to our verifier.
import type { SerializedBundle } from '@sigstore/bundle';
import { BlobCache, type DigestRef, type RegistryClient } from '../../lib/oci';
import { SignatureStore, SignatureWriter, type ImageSigner, type SignatureSet, type WriteOutcome } from '../../lib/signing';

export interface SignatureKit {
  store: SignatureStore;
  /** Signs the manifest `img` with `signer` and writes it there; returns what was signed and written. */
  sign(signer: ImageSigner, img: DigestRef): Promise<{ set: SignatureSet; outcome: WriteOutcome }>;
  /** Writes an already made signature set again (a retry, or another destination). */
  write(set: SignatureSet, img: DigestRef): Promise<WriteOutcome>;
  /** Attaches an attestation bundle as a referrer of `img`. */
  attest(bundle: SerializedBundle, img: DigestRef, created?: Date): Promise<WriteOutcome>;
}

export function signatureKit(client: RegistryClient): SignatureKit {
  const store = new SignatureStore(client);
  const writer = new SignatureWriter(client, store.referrers, new BlobCache());
  const subjectOf = async (img: DigestRef) => {
    const head = await client.headManifest(img);
    if (!head) throw new Error(`${img.host}/${img.repository}@${img.digest} not found`);
    return { digest: img.digest, mediaType: head.mediaType, size: head.size };
  };
  const kit: SignatureKit = {
    store,
    async sign(signer, img) {
      const set = await signer.signImage({ dockerReference: `${img.host}/${img.repository}`, digest: img.digest });
      return { set, outcome: await kit.write(set, img) };
    },
    async write(set, img) {
      return writer.write(img, { subject: await subjectOf(img), set });
    },
    async attest(bundle, img, created = new Date()) {
      return writer.write(img, { subject: await subjectOf(img), attestations: [{ bundle, created: created.toISOString().replace(/\.\d{3}Z$/, 'Z') }] });
    },
  };
  return kit;
}
