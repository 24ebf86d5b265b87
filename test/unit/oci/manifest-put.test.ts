// A manifest PUT that the registry refuses as damaged (400 DIGEST_INVALID) although the bytes hash to
// their digest (the client checks before sending) was damaged on the way: distribution 2.8 answered
// so a few times under heavy load in the k8s-shape bench. The client sends it again, a few times.
// A fake registry: a real one cannot be made to do this on demand.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OCI_MANIFEST, RegistryClient, sha256Digest } from '../../../lib/oci';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A registry whose first `refusals` manifest PUTs answer DIGEST_INVALID. */
async function registry(refusals: number): Promise<{ host: string; puts: () => number }> {
  let puts = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'PUT' && req.url?.includes('/manifests/')) {
        puts++;
        if (puts <= refusals) {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' }] }));
          return;
        }
        res.writeHead(201, { 'Docker-Content-Digest': req.url.split('/manifests/')[1]! });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, puts: () => puts };
}

const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }));
const digest = sha256Digest(bytes);

describe('manifest PUT refused as damaged', () => {
  it('is sent again, and succeeds when the registry gets it whole', async () => {
    const r = await registry(2);
    const client = new RegistryClient({ allowedRegistries: ['127.0.0.1:*'] });
    await expect(client.putManifest({ host: r.host, repository: 'app', digest }, bytes, OCI_MANIFEST)).resolves.toBe(digest);
    expect(r.puts()).toBe(3);
  });

  it('fails with DIGEST_INVALID after three refusals', async () => {
    const r = await registry(10);
    const client = new RegistryClient({ allowedRegistries: ['127.0.0.1:*'] });
    await expect(client.putManifest({ host: r.host, repository: 'app', digest }, bytes, OCI_MANIFEST)).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(r.puts()).toBe(3);
  });
});
