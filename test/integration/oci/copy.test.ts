import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobCache, copyImage, Referrers, sha256Digest, type RegistryClient } from '../../../lib/oci';
import { makeLayer, pushRandomImage } from '../../../scripts/dev/seed-images';
import { FaultProxy } from '../../support/fault-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { skopeoPullAndVerify, skopeoRawDigest, stackClient, statsSince, writes } from './helpers';

let client: RegistryClient;
let staging: string, production: string, mirrorA: string, mirrorB: string;
let tmp: string;

beforeAll(async () => {
  client = stackClient();
  ({ staging, production, mirrorA, mirrorB } = stack().registries.all);
  tmp = await mkdtemp(join(tmpdir(), 'oci-it-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('registry read side', () => {
  it('pings every registry, with basic and token auth', async () => {
    for (const host of [staging, production, mirrorA, mirrorB]) await client.ping(host);
  });

  it('HEAD of a missing manifest is undefined; tags of a missing repository are []', async () => {
    const repo = uniqueName('oci/missing');
    expect(await client.headManifest({ host: production, repository: repo, tag: 'nope' })).toBeUndefined();
    expect(await client.listTags(production, repo)).toEqual([]);
    expect(await client.headBlob(mirrorB, repo, sha256Digest('x'))).toBeUndefined();
  });

  it('lists tags across pages with n=2 over 5 tags', async () => {
    const repo = uniqueName('oci/tags');
    const img = await pushRandomImage(client, staging, repo, { layers: 1, layerSize: 64 });
    const m = await client.getManifest({ host: staging, repository: repo, digest: img.digest });
    const tags = ['a1', 'b2', 'c3', 'd4', 'e5'];
    for (const t of tags) await client.putManifest({ host: staging, repository: repo, tag: t }, m.bytes, m.mediaType);

    // distribution 2.8 ignores n on tags/list: everything in one answer, no Link.
    const before0 = client.stats();
    expect((await client.listTags(staging, repo, { pageSize: 2 })).sort()).toEqual(tags);
    expect(statsSince(client, before0)[staging]?.byMethod.GET).toBe(1);

    // Through a proxy serving spec-conformant pages of the same real list: three pages, 2 + 2 + 1.
    const proxy = await FaultProxy.start(staging);
    proxy.emulateTagPagination = true;
    try {
      expect(await client.listTags(proxy.host, repo, { pageSize: 2 })).toEqual(tags);
      expect(proxy.requests.map((r) => r.path)).toEqual([
        `/v2/${repo}/tags/list?n=2`,
        `/v2/${repo}/tags/list?n=2&last=b2`,
        `/v2/${repo}/tags/list?n=2&last=d4`,
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('getManifest by tag returns the bytes whose sha256 is the digest, and the media type', async () => {
    const repo = uniqueName('oci/get');
    const img = await pushRandomImage(client, staging, repo, { tag: 'v1', platforms: ['linux/amd64', 'linux/arm64'], layerSize: 100 });
    const m = await client.getManifest({ host: staging, repository: repo, tag: 'v1' });
    expect(m.digest).toBe(img.digest);
    expect(sha256Digest(m.bytes)).toBe(img.digest);
    expect(m.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(await client.headManifest({ host: staging, repository: repo, tag: 'v1' })).toEqual({
      digest: img.digest,
      mediaType: m.mediaType,
      size: m.bytes.length,
    });
  });
});

describe('copyImage', () => {
  it('copies a single-arch image to production (basic auth) byte for byte, tags it, and a rerun only HEADs', async () => {
    const repo = uniqueName('oci/single');
    const img = await pushRandomImage(client, staging, repo, { tag: 'src', layers: 3, layerSize: 300_000 });
    const before1 = client.stats();
    const r = await copyImage(
      client,
      { host: staging, repository: repo, digest: img.digest },
      { host: production, repository: repo },
      { tags: ['v1', 'latest'] },
    );
    expect(r).toMatchObject({ digest: img.digest, manifests: 1, blobsUploaded: 4, blobsMounted: 0, tagsWritten: ['v1', 'latest'] });
    expect(r.bytesUploaded).toBeGreaterThan(900_000);
    // PATCH chunks were used for the 300 kB layers (128 KiB chunks)
    expect(statsSince(client, before1)[production]?.byMethod.PATCH).toBeGreaterThanOrEqual(9);

    expect(await skopeoRawDigest(`${production}/${repo}@${img.digest}`)).toBe(img.digest);
    expect(await skopeoRawDigest(`${production}/${repo}:v1`)).toBe(img.digest);
    await skopeoPullAndVerify(`${production}/${repo}:latest`, join(tmp, 'single'));

    const before2 = client.stats();
    const again = await copyImage(
      client,
      { host: staging, repository: repo, digest: img.digest },
      { host: production, repository: repo },
      { tags: ['v1', 'latest'] },
    );
    expect(again).toMatchObject({ manifests: 0, manifestsPresent: 1, blobsUploaded: 0, tagsWritten: [], tagsPresent: ['v1', 'latest'] });
    const stats = statsSince(client, before2);
    expect(writes(stats, production)).toBe(0);
    expect(Object.keys(stats[production]!.byMethod)).toEqual(['HEAD']);
    expect(stats[staging]).toBeUndefined();
  });

  it('copies a multi-arch index with every child to mirror-b (token auth)', async () => {
    const repo = uniqueName('oci/multi');
    const img = await pushRandomImage(client, staging, repo, { tag: 'src', layers: 2, layerSize: 50_000, platforms: ['linux/amd64', 'linux/arm64'] });
    const r = await copyImage(client, { host: staging, repository: repo, digest: img.digest }, { host: mirrorB, repository: repo }, { tags: ['1.0'] });
    expect(r).toMatchObject({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: 3, blobsUploaded: 6, tagsWritten: ['1.0'] });
    expect(await skopeoRawDigest(`${mirrorB}/${repo}:1.0`)).toBe(img.digest);
    for (const child of img.children) expect(await skopeoRawDigest(`${mirrorB}/${repo}@${child.digest}`)).toBe(child.digest);
    await skopeoPullAndVerify(`${mirrorB}/${repo}:1.0`, join(tmp, 'multi'));

    const before3 = client.stats();
    await copyImage(client, { host: staging, repository: repo, digest: img.digest }, { host: mirrorB, repository: repo }, { tags: ['1.0'] });
    expect(writes(statsSince(client, before3), mirrorB)).toBe(0);
    expect(statsSince(client, before3)[mirrorB]?.byMethod).toEqual({ HEAD: 2 });
    // the pull,push token from the first copy is still cached: no request to the token server, none to staging
    expect(Object.keys(statsSince(client, before3))).toEqual([mirrorB]);
  });

  it('mounts a shared layer into a second repository on the same host instead of uploading it', async () => {
    const base = makeLayer(uniqueName('base'), 200_000);
    const repoA = uniqueName('oci/mount-a');
    const repoB = uniqueName('oci/mount-b');
    const a = await pushRandomImage(client, staging, repoA, { layers: 1, layerSize: 1000, sharedLayers: [base] });
    const b = await pushRandomImage(client, staging, repoB, { layers: 1, layerSize: 1000, sharedLayers: [base] });
    const cache = new BlobCache();
    const ra = await copyImage(client, { host: staging, repository: repoA, digest: a.digest }, { host: production, repository: repoA }, { blobCache: cache });
    expect(ra).toMatchObject({ blobsUploaded: 3, blobsMounted: 0 });
    const before4 = client.stats();
    const rb = await copyImage(
      client,
      { host: staging, repository: repoB, digest: b.digest },
      { host: production, repository: repoB },
      { blobCache: cache, tags: ['v1'] },
    );
    expect(rb).toMatchObject({ blobsUploaded: 2, blobsMounted: 1 });
    expect(rb.bytesUploaded).toBeLessThan(base.length);
    // the shared layer was never read from staging for the second copy
    expect(statsSince(client, before4)[staging]?.byMethod.GET).toBe(3); // manifest + config + own layer
    expect(await skopeoRawDigest(`${production}/${repoB}:v1`)).toBe(b.digest);
    await skopeoPullAndVerify(`${production}/${repoB}:v1`, join(tmp, 'mount-b'));
    expect(await client.headBlob(production, repoB, sha256Digest(base))).toBe(base.length);
  });

  it('mountBlob answers false (and leaves nothing behind) when the source repository lacks the blob', async () => {
    const repo = uniqueName('oci/nomount');
    expect(await client.mountBlob(mirrorB, repo, sha256Digest(uniqueName('absent')), uniqueName('oci/elsewhere'))).toBe(false);
  });

  it('never moves a tag: reports the tag move, and the tag still points at the old digest', async () => {
    const repo = uniqueName('oci/tagmove');
    const first = await pushRandomImage(client, staging, repo, { seed: 'first', layerSize: 100 });
    const second = await pushRandomImage(client, staging, repo, { seed: 'second', layerSize: 100 });
    await copyImage(client, { host: staging, repository: repo, digest: first.digest }, { host: production, repository: repo }, { tags: ['stable'] });
    const result = await copyImage(
      client,
      { host: staging, repository: repo, digest: second.digest },
      { host: production, repository: repo },
      { tags: ['stable', 'fresh'] },
    );
    expect(result.tagMoves).toEqual([{ tag: 'stable', currentDigest: first.digest }]);
    expect(result.tagsWritten).toEqual(['fresh']);
    expect((await client.headManifest({ host: production, repository: repo, tag: 'stable' }))?.digest).toBe(first.digest);
    expect(await skopeoRawDigest(`${production}/${repo}:stable`)).toBe(first.digest);
    // the non-conflicting tag was still written, the image itself copied
    expect((await client.headManifest({ host: production, repository: repo, tag: 'fresh' }))?.digest).toBe(second.digest);
  });

  it('promotes one base layer to many repositories: uploaded once, mounted after', async () => {
    const base = makeLayer(uniqueName('fanout'), 100_000);
    const src = uniqueName('oci/fanout-src');
    const img = await pushRandomImage(client, staging, src, { layers: 0, sharedLayers: [base] });
    const cache = new BlobCache();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        copyImage(client, { host: staging, repository: src, digest: img.digest }, { host: mirrorA, repository: `${src}-dst${i}` }, { blobCache: cache }),
      ),
    );
    const uploaded = results.reduce((n, r) => n + r.blobsUploaded, 0);
    const mounted = results.reduce((n, r) => n + r.blobsMounted, 0);
    // 2 blobs (config + base) x 6 repositories: each uploaded exactly once, mounted 5 times
    expect(uploaded).toBe(2);
    expect(mounted).toBe(10);
  });
});

describe('referrers', () => {
  it('falls back to the sha256-<hex> tag index on a registry without the referrers API, without duplicates', async () => {
    const repo = uniqueName('oci/ref');
    const img = await pushRandomImage(client, production, repo, { tag: 'v1', layerSize: 100 });
    const subject = await client.headManifest({ host: production, repository: repo, digest: img.digest });
    const empty = new TextEncoder().encode('{}');
    await client.pushBlob(production, repo, empty);
    const payload = new TextEncoder().encode('{"predicate":"demo"}');
    const layer = await client.pushBlob(production, repo, payload);
    const artifact = (artifactType: string, note: string) =>
      new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest(empty), size: 2 },
          layers: [{ mediaType: 'application/vnd.in-toto+json', digest: layer.digest, size: layer.size }],
          subject: { mediaType: subject!.mediaType, digest: subject!.digest, size: subject!.size },
          annotations: { note },
        }),
      );
    const referrers = new Referrers(client);
    const a1 = artifact('application/vnd.dev.promoter.attestation+json', 'one');
    const a2 = artifact('application/vnd.dev.sigstore.bundle.v0.3+json', 'two');
    const p1 = await referrers.push({ host: production, repository: repo }, a1, 'application/vnd.oci.image.manifest.v1+json');
    expect(p1).toEqual({ digest: sha256Digest(a1), fallbackTag: img.digest.replace(':', '-') });
    await referrers.push({ host: production, repository: repo }, a1, 'application/vnd.oci.image.manifest.v1+json'); // again: no duplicate
    await referrers.push({ host: production, repository: repo }, a2, 'application/vnd.oci.image.manifest.v1+json');

    const all = await referrers.list({ host: production, repository: repo }, img.digest);
    expect(all.map((d) => d.digest)).toEqual([sha256Digest(a1), sha256Digest(a2)]);
    expect(all[0]).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256Digest(a1),
      size: a1.length,
      artifactType: 'application/vnd.dev.promoter.attestation+json',
      annotations: { note: 'one' },
    });
    const only = await referrers.list({ host: production, repository: repo }, img.digest, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(only.map((d) => d.digest)).toEqual([sha256Digest(a2)]);
    expect(await referrers.list({ host: production, repository: repo }, sha256Digest('nothing refers to this'))).toEqual([]);
    // the referrer itself is readable by an independent client
    expect(await skopeoRawDigest(`${production}/${repo}@${sha256Digest(a1)}`)).toBe(sha256Digest(a1));
  });
});
