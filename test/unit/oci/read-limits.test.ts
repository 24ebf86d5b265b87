// What a registry's answer may make the client hold: a limit per kind of answer, the Content-Length
// checked before reading, and reading stopped one byte past the limit when there is none.
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient, sha256Digest } from '../../../lib/oci';
import { closeAll, json, pour, serve } from './servers';

afterEach(closeAll);

const MiB = 1024 * 1024;
const digest = sha256Digest(new TextEncoder().encode('x'));
const client = (opts: ConstructorParameters<typeof RegistryClient>[0] = {}) =>
  new RegistryClient({ allowedRegistries: ['127.0.0.1:*'], retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, ...opts });

describe('read limits', () => {
  it('a manifest declaring 4 GiB is refused from its headers, nearly nothing read', async () => {
    let sent = -1;
    const r = await serve((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': String(4 * 1024 ** 3) });
      pour(res, 4 * 1024 ** 3, (n) => (sent = n));
    });
    await expect(client().getManifest({ host: r.host, repository: 'app', digest })).rejects.toMatchObject({
      code: 'TOO_LARGE',
      retryable: false,
      registry: r.host,
      message: `GET manifest on ${r.host}/app: the answer is larger than the limit of ${4 * MiB} bytes (Content-Length ${4 * 1024 ** 3}, not read); refused`,
    });
    await waitFor(() => sent >= 0);
    expect(sent).toBeLessThan(8 * MiB);
    expect(r.seen).toHaveLength(1); // not retried
  });

  it('an endless manifest without a length is cut one byte past 4 MiB', async () => {
    let sent = -1;
    const r = await serve((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      pour(res, 1024 ** 3, (n) => (sent = n));
    });
    await expect(client().getManifest({ host: r.host, repository: 'app', tag: 'v1' })).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringContaining(`(reading stopped at ${4 * MiB + 1} bytes)`),
    });
    await waitFor(() => sent >= 0);
    expect(sent).toBeLessThan(16 * MiB);
  });

  it('a huge error body is left unread: the status still says what went wrong, and it is retried as a 5xx is', async () => {
    const sent: number[] = [];
    const r = await serve((req, res) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      pour(res, 256 * MiB, (n) => sent.push(n));
    });
    await expect(client().ping(r.host)).rejects.toMatchObject({
      code: 'SERVER_ERROR',
      retryable: true,
      message: `ping on ${r.host} failed with HTTP 500 SERVER_ERROR (error body over ${MiB} bytes, not read)`,
    });
    expect(r.seen).toHaveLength(2);
    await waitFor(() => sent.length === 2);
    for (const n of sent) expect(n).toBeLessThan(8 * MiB);
  });

  it('a token answer over 1 MiB is refused, naming the token request', async () => {
    const r = await serve((req, res) => {
      req.resume();
      if (req.url?.startsWith('/token')) {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(2 * MiB) });
        return pour(res, 2 * MiB, () => undefined);
      }
      json(res, 401, {}, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="r"` });
    });
    await expect(client().ping(r.host)).rejects.toMatchObject({
      code: 'TOO_LARGE',
      registry: r.host,
      message: `token request on ${r.host}: the answer is larger than the limit of ${MiB} bytes (Content-Length ${2 * MiB}, not read); refused`,
    });
  });

  it('a tag listing is bounded in pages and in bytes', async () => {
    let page = 0;
    const endless = await serve((req, res) =>
      json(res, 200, { name: 'app', tags: [`t${page}`] }, { Link: `</v2/app/tags/list?n=1&last=t${page++}>; rel="next"` }),
    );
    await expect(client({ readLimits: { tagPages: 50 } }).listTags(endless.host, 'app')).rejects.toMatchObject({
      code: 'TOO_LARGE',
      retryable: false,
      message: `list tags on ${endless.host}/app: more than 50 pages, past the client's limit; refused`,
    });
    expect(endless.seen).toHaveLength(50);
    const wide = await serve((req, res) =>
      json(
        res,
        200,
        { name: 'app', tags: Array.from({ length: 100 }, (_, i) => `tag-${page}-${i}`) },
        { Link: `</v2/app/tags/list?last=${page++}>; rel="next"` },
      ),
    );
    await expect(client({ readLimits: { tagListBytes: 10_000 } }).listTags(wide.host, 'app')).rejects.toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringMatching(/more than 10000 bytes over \d+ pages/),
    });
    expect(wide.seen.length).toBeLessThan(10);
  });

  it('a blob read whole is bounded too (16 MiB by default, or what the caller says)', async () => {
    const r = await serve((req, res) => {
      res.writeHead(200, { 'Content-Length': String(2048) });
      res.end(Buffer.alloc(2048));
    });
    await expect(client().getBlob(r.host, 'app', digest, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(client().getBlob(r.host, 'app', digest)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' }); // read, then verified
  });

  it('a host the operator did not allow is never connected to', async () => {
    const r = await serve((req, res) => json(res, 200, {}));
    const port = r.host.split(':')[1];
    await expect(new RegistryClient({ allowedRegistries: ['registry.k8s.io'] }).ping(r.host)).rejects.toMatchObject({
      code: 'HOST_NOT_ALLOWED',
      retryable: false,
      message: `ping: refusing to connect: 127.0.0.1:${port} is not allowed by PROMOTER_ALLOWED_REGISTRIES=registry.k8s.io`,
    });
    await expect(new RegistryClient({ allowedRegistries: [] }).ping(r.host)).rejects.toMatchObject({
      code: 'HOST_NOT_ALLOWED',
      message: expect.stringContaining('is a loopback address'),
    });
    expect(r.seen).toEqual([]);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}
