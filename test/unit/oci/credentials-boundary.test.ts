// A registry's answers never choose where its credentials go: absolute Link and Location URLs,
// redirects and 401 challenges from other hosts. Two in-process servers: "home", which holds the
// credentials, and "other", which records every Authorization header it is sent.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/oci';
import { StaticCredentialStore } from '../../support/static-credentials';
import { closeAll, json, serve, type TestServer } from './servers';

afterEach(closeAll);

const SECRET = { username: 'promoter', password: 'home-secret' };
const BASIC = `Basic ${Buffer.from(`${SECRET.username}:${SECRET.password}`).toString('base64')}`;

/** A registry that wants Basic credentials for everything; `route` answers what it is asked once they are there. */
function home(route: (req: IncomingMessage, res: ServerResponse) => void) {
  return serve((req, res) => {
    req.resume();
    if (req.headers.authorization !== BASIC) {
      json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'WWW-Authenticate': 'Basic realm="home"' });
      return;
    }
    route(req, res);
  });
}

function clientFor(h: TestServer) {
  return new RegistryClient({ allowedRegistries: ['127.0.0.1:*'], credentials: new StaticCredentialStore({ [h.host]: SECRET }), retry: { maxAttempts: 1 } });
}

const authorizations = (s: TestServer) => s.seen.map((x) => x.authorization).filter(Boolean);

describe('credentials stay with their host', () => {
  it('a tag page Link on another host is fetched without the registry credentials', async () => {
    const other = await serve((req, res) => json(res, 200, { name: 'app', tags: ['from-other'] }));
    const h = await home((req, res) => json(res, 200, { name: 'app', tags: ['v1'] }, { Link: `<http://${other.host}/v2/app/tags/list?last=v1>; rel="next"` }));
    expect(await clientFor(h).listTags(h.host, 'app')).toEqual(['v1', 'from-other']);
    expect(other.seen).toHaveLength(1);
    expect(authorizations(other)).toEqual([]);
    expect(authorizations(h)).toContain(BASIC);
  });

  it('a 401 from another host fails the request and never changes how the registry is authenticated', async () => {
    const other = await serve((req, res) => {
      req.resume();
      if (req.url?.startsWith('/token')) return json(res, 200, { token: 'stolen' });
      json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'WWW-Authenticate': `Bearer realm="http://${req.headers.host}/token",service="evil"` });
    });
    const h = await home((req, res) =>
      json(res, 200, { name: 'app', tags: ['v1'] }, req.url?.includes('last=') ? {} : { Link: `<http://${other.host}/v2/app/tags/list?last=v1>; rel="next"` }),
    );
    const client = clientFor(h);
    await expect(client.listTags(h.host, 'app')).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      registry: h.host,
      message: expect.stringContaining(`(answered by ${other.host})`),
    });
    // The registry is still spoken to with its own Basic credentials, and the foreign realm never asked.
    await client.ping(h.host);
    expect(h.seen.at(-1)?.authorization).toBe(BASIC);
    expect(other.seen.map((s) => s.path)).toEqual(['/v2/app/tags/list?last=v1']);
    expect(authorizations(other)).toEqual([]);
  });

  it('an upload Location on another host gets the bytes but not the credentials', async () => {
    const other = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'Docker-Content-Digest': new URL(req.url!, 'http://x').searchParams.get('digest') ?? '' });
        res.end();
      });
    });
    const h = await home((req, res) => {
      if (req.method === 'HEAD') return json(res, 404, {});
      res.writeHead(202, { Location: `http://${other.host}/upload/1?state=abc`, 'Content-Length': '0' });
      res.end();
    });
    expect(await clientFor(h).pushBlob(h.host, 'app', new TextEncoder().encode('layer'))).toMatchObject({ uploaded: true });
    expect(other.seen.map((s) => s.method)).toEqual(['PUT']);
    expect(authorizations(other)).toEqual([]);
  });

  it('a read redirected to another host follows without credentials, and a hop back does not get them again', async () => {
    let bounced = false;
    const other = await serve((req, res) => {
      req.resume();
      res.writeHead(307, { Location: `http://${hHost}/v2/app/manifests/back`, 'Content-Length': '0' });
      res.end();
    });
    const h = await serve((req, res) => {
      req.resume();
      if (req.url === '/v2/app/manifests/back') {
        bounced = true;
        // Without credentials, as it came: a registry that wants them answers 401 here.
        return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'WWW-Authenticate': 'Basic realm="home"' });
      }
      if (req.headers.authorization !== BASIC) return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] }, { 'WWW-Authenticate': 'Basic realm="home"' });
      res.writeHead(307, { Location: `http://${other.host}/storage/obj`, 'Content-Length': '0' });
      res.end();
    });
    const hHost = h.host;
    await expect(clientFor(h).getManifest({ host: h.host, repository: 'app', tag: 'v1' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(bounced).toBe(true);
    expect(authorizations(other)).toEqual([]);
    expect(h.seen.filter((s) => s.path === '/v2/app/manifests/back').map((s) => s.authorization)).toEqual([undefined]);
  });

  it('a manifest PUT answered with a redirect is an error, and nothing is sent where it points', async () => {
    const other = await serve((req, res) => json(res, 201, {}));
    const h = await home((req, res) => {
      req.resume();
      res.writeHead(307, { Location: `http://${other.host}/v2/app/manifests/v1`, 'Content-Length': '0' });
      res.end();
    });
    const bytes = new TextEncoder().encode('{"schemaVersion":2}');
    await expect(
      clientFor(h).putManifest({ host: h.host, repository: 'app', tag: 'v1' }, bytes, 'application/vnd.oci.image.manifest.v1+json'),
    ).rejects.toMatchObject({
      code: 'REDIRECT_REFUSED',
      retryable: false,
      message: expect.stringContaining('answered 307 to a PUT, a write; writes are never redirected'),
    });
    expect(other.seen).toEqual([]);
  });
});
