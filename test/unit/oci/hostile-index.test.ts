// A source registry is not trusted to name its index's children sensibly: a "digest" that is a path
// would otherwise go into the next request's URL. The copy refuses it before any such request.
// A fake registry: a real one refuses to store such an index.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { copyImage, OCI_INDEX, RegistryClient, sha256Digest } from '../../../lib/oci';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

const hostileChild = 'sha256:../../../other/manifests/latest';
const index = new TextEncoder().encode(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_INDEX, digest: hostileChild, size: 2 }] }),
);
const indexDigest = sha256Digest(index);

async function registry(): Promise<{ host: string; paths: string[] }> {
  const paths: string[] = [];
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    if (req.url === `/v2/src/manifests/${indexDigest}` && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': OCI_INDEX, 'Docker-Content-Digest': indexDigest, 'Content-Length': index.length });
      res.end(index);
      return;
    }
    if (req.url?.startsWith('/v2/dst/manifests/') && req.method === 'HEAD') {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' });
    res.end('{}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

describe('an index naming a child by something that is not a digest', () => {
  it('fails the copy, and no request carries it', async () => {
    const r = await registry();
    const client = new RegistryClient({ allowedRegistries: ['127.0.0.1:*'] });
    await expect(copyImage(client, { host: r.host, repository: 'src', digest: indexDigest }, { host: r.host, repository: 'dst' })).rejects.toThrow(
      `not a sha256 digest: ${hostileChild}`,
    );
    expect(r.paths.some((p) => p.includes('other') || p.includes('..'))).toBe(false);
    expect(r.paths).toContain(`/v2/src/manifests/${indexDigest}`);
  });

  it('a manifest asked for by such a "digest" is refused before any request', async () => {
    const r = await registry();
    const client = new RegistryClient({ allowedRegistries: ['127.0.0.1:*'] });
    await expect(client.getManifest({ host: r.host, repository: 'src', digest: hostileChild })).rejects.toThrow('not a sha256 digest');
    expect(r.paths).toEqual([]);
  });
});
