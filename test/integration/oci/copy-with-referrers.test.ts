// One promotion copy against the real registries: the image, the referrers handed in (an SBOM the
// build attached to staging), then the tags. production (distribution 2.8) gets the referrer in
// the `sha256-<hex>` fallback index, mirror-a (olareg) through the referrers API; a second copy
// writes nothing, and a tag that points elsewhere stays where it is.
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobCache, copyWithReferrers, Referrers, type RegistryClient } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { attach } from '../../support/referrers';
import { stack, uniqueName } from '../../support/stack-env';
import { stackClient, statsSince, writes } from './helpers';

let client: RegistryClient;
beforeAll(() => {
  client = stackClient();
});

describe('copyWithReferrers', () => {
  it('copies image, referrers and tags in the scheme each destination speaks; again, it writes nothing', async () => {
    const s = stack();
    const name = uniqueName('oci/with-referrers');
    const src = { host: s.registries.staging, repository: name };
    const image = await pushRandomImage(client, src.host, src.repository, { seed: name, layers: 2, layerSize: 4096 });
    const sbom = await attach(client, src, image, 'application/spdx+json', `{"spdxVersion":"SPDX-2.3","name":"${name}"}`);
    const found = await new Referrers(client).list(src, image.digest);
    expect(found.map((d) => d.digest)).toEqual([sbom]);

    const referrers = new Referrers(client);
    const blobCache = new BlobCache();
    for (const host of [s.registries.production, s.registries.all.mirrorA]) {
      const dst = { host, repository: name };
      const out = await copyWithReferrers(client, referrers, { ...src, digest: image.digest }, dst, { tags: ['v1', 'latest'], referrers: found, blobCache });
      expect(out.tags, host).toEqual([
        { tag: 'v1', result: 'written' },
        { tag: 'latest', result: 'written' },
      ]);
      expect(out.transfer, host).toMatchObject({ referrersCopied: 1, blobsUploaded: 5 }); // config, two layers; the SBOM's empty config and body
      expect((await client.headManifest({ ...dst, tag: 'latest' }))?.digest, host).toBe(image.digest);
      expect((await client.getManifest({ ...dst, digest: sbom })).digest, host).toBe(sbom);
      const fresh = new Referrers(client);
      expect(
        (await fresh.list(dst, image.digest)).map((d) => d.digest),
        host,
      ).toEqual([sbom]);
      const viaApi = host === s.registries.all.mirrorA;
      expect(fresh.servesApi(host), host).toBe(viaApi);
      expect(out.fallbackTag, host).toBe(viaApi ? undefined : `sha256-${image.digest.slice(7)}`);

      const before = client.stats();
      const again = await copyWithReferrers(client, referrers, { ...src, digest: image.digest }, dst, { tags: ['v1', 'latest'], referrers: found, blobCache });
      expect(
        again.tags.map((t) => t.result),
        host,
      ).toEqual(['present', 'present']);
      expect(again.transfer.manifestsWritten, host).toBe(0);
      expect(writes(statsSince(client, before), host), host).toBe(0);
    }
  });

  it('leaves a tag that points at another image where it is, and still copies by digest', async () => {
    const s = stack();
    const name = uniqueName('oci/with-referrers-move');
    const src = { host: s.registries.staging, repository: name };
    const dst = { host: s.registries.production, repository: name };
    const wanted = await pushRandomImage(client, src.host, src.repository, { seed: `${name}/wanted`, layers: 1, layerSize: 1024 });
    const other = await pushRandomImage(client, dst.host, dst.repository, { seed: `${name}/other`, layers: 1, layerSize: 1024, tag: 'v1' });
    const out = await copyWithReferrers(client, new Referrers(client), { ...src, digest: wanted.digest }, dst, { tags: ['v1', 'v2'], referrers: [] });
    // Listed by outcome: written, present, refused.
    expect(out.tags).toEqual([
      { tag: 'v2', result: 'written' },
      { tag: 'v1', result: 'tag-move', currentDigest: other.digest },
    ]);
    expect((await client.headManifest({ ...dst, tag: 'v1' }))?.digest).toBe(other.digest);
    expect((await client.headManifest({ ...dst, digest: wanted.digest }))?.digest).toBe(wanted.digest);
    expect(out.fallbackTag).toBeUndefined();
  });
});
