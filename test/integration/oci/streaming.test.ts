// A large layer travels as a stream: the copy never holds the blob whole in
// memory, even when the destination reads slower than the source sends.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { copyImage } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { FaultProxy } from '../../support/fault-proxy';
import { stack, uniqueName } from '../../support/stack-env';
import { skopeoRawDigest, stackClient } from './helpers';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
let proxy: FaultProxy | undefined;
afterAll(async () => proxy?.close());

it('copies a 64 MiB layer in one PATCH to a slow destination with well under 64 MiB of live buffers', async () => {
  const { staging, mirrorA } = stack().registries.all;
  const repo = uniqueName('oci/stream');
  const img = await pushRandomImage(stackClient(), staging, repo, { layers: 1, layerSize: 64 * 1024 * 1024 });
  gc();
  proxy = await FaultProxy.start(mirrorA);
  proxy.addFault({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: { kind: 'slow-upload', bytesPerSecond: 40 * 1024 * 1024 }, times: Infinity });

  const client = stackClient({ upload: { chunkSize: 96 * 1024 * 1024, monolithicMaxBytes: 1024 * 1024 } });
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const sampler = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }, 100);
  let result;
  try {
    result = await copyImage(client, { host: staging, repository: repo, digest: img.digest }, { host: proxy.host, repository: repo }, { tags: ['big'] });
  } finally {
    clearInterval(sampler);
  }
  expect(result.bytesUploaded).toBeGreaterThan(64 * 1024 * 1024);
  expect(client.stats()[proxy.host]?.byMethod.PATCH).toBe(1);
  expect(peak).toBeLessThan(24 * 1024 * 1024);
  expect(await skopeoRawDigest(`${mirrorA}/${repo}:big`)).toBe(img.digest);
}, 180_000);
