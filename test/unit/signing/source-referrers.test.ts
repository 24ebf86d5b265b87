// Which of a staging image's referrers are promoted with it: everything the build attached but its
// signatures, decided by the index entry's annotations or, where the entry has none, by the
// referrer manifest's own; and each digest's list is read once for all its destinations.
import { describe, expect, it } from 'vitest';
import type { Descriptor, DigestRef } from '../../../lib/oci';
import {
  BUNDLE_PREDICATE_TYPE_ANNOTATION,
  COSIGN_SIGN_PREDICATE_TYPE,
  SIGSTORE_BUNDLE_V03,
  SLSA_PROVENANCE_V1,
  SourceReferrers,
  withoutSignatures,
} from '../../../lib/signing';
import { DIGEST_A, DIGEST_B } from './helpers';

const entry = (n: number, artifactType: string, annotations?: Record<string, string>): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).repeat(64)}`,
  size: 100,
  artifactType,
  ...(annotations ? { annotations } : {}),
});
const sbom = entry(1, 'application/spdx+json');
const messageSignature = entry(2, SIGSTORE_BUNDLE_V03, { 'dev.sigstore.bundle.content': 'message-signature' });
const cosignSign = entry(3, SIGSTORE_BUNDLE_V03, { [BUNDLE_PREDICATE_TYPE_ANNOTATION]: COSIGN_SIGN_PREDICATE_TYPE });
const provenance = entry(4, SIGSTORE_BUNDLE_V03, { [BUNDLE_PREDICATE_TYPE_ANNOTATION]: SLSA_PROVENANCE_V1 });
const bare = (n: number) => entry(n, SIGSTORE_BUNDLE_V03);
const manifestWith = (annotations?: Record<string, string>) =>
  new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, ...(annotations ? { annotations } : {}) }));

describe('withoutSignatures', () => {
  it('keeps SBOMs and attestations, drops signature bundles, reading only entries that do not say what they are', async () => {
    const read: string[] = [];
    const manifests: Record<string, Uint8Array> = {
      [bare(5).digest]: manifestWith({ [BUNDLE_PREDICATE_TYPE_ANNOTATION]: SLSA_PROVENANCE_V1 }), // an attestation
      [bare(6).digest]: manifestWith(), // no predicate type: a message signature
    };
    const kept = await withoutSignatures([sbom, messageSignature, cosignSign, provenance, bare(5), bare(6)], async (digest) => {
      read.push(digest);
      return manifests[digest]!;
    });
    expect(kept.map((d) => d.digest)).toEqual([sbom.digest, provenance.digest, bare(5).digest]);
    expect(read).toEqual([bare(5).digest, bare(6).digest]);
  });
});

describe('SourceReferrers', () => {
  const src = (digest: string): DigestRef => ({ host: 'staging.example', repository: 's/app', digest });

  it('lists each digest once for all its destinations, forgets a failed listing, and keeps only the most recent digests', async () => {
    const listed: string[] = [];
    let failNext = true;
    const referrers = new SourceReferrers(
      async (s) => {
        listed.push(s.digest);
        if (s.digest === DIGEST_B && failNext) {
          failNext = false;
          throw new Error('connection reset');
        }
        return [sbom, cosignSign];
      },
      async () => manifestWith(),
      async () => undefined,
      2,
    );

    const [a1, a2] = await Promise.all([referrers.of(src(DIGEST_A)), referrers.of(src(DIGEST_A))]);
    expect(a1.map((d) => d.digest)).toEqual([sbom.digest]);
    expect(a2).toBe(a1);
    await expect(referrers.of(src(DIGEST_B))).rejects.toThrow('connection reset');
    expect((await referrers.of(src(DIGEST_B))).map((d) => d.digest)).toEqual([sbom.digest]);
    expect(listed).toEqual([DIGEST_A, DIGEST_B, DIGEST_B]);

    // A third digest pushes the least recently used one (A) out: A is listed again when asked.
    await referrers.of(src(`sha256:${'c'.repeat(64)}`));
    await referrers.of(src(DIGEST_A));
    expect(listed).toEqual([DIGEST_A, DIGEST_B, DIGEST_B, `sha256:${'c'.repeat(64)}`, DIGEST_A]);
  });
});
