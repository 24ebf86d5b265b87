// Authentication against the real registries: Basic (production) and Bearer
// tokens from the stack's token server (mirror-b).
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DockerConfigCredentialStore, parseWwwAuthenticate, RegistryClient, type Credential } from '../../../lib/oci';
import { pushRandomImage } from '../../../scripts/dev/seed-images';
import { FaultProxy } from '../../support/fault-proxy';
import { tlsFiles } from '../../../scripts/dev/stack';
import { stack, uniqueName } from '../../support/stack-env';
import { stackClient } from './helpers';
import { StaticCredentialStore } from '../../support/static-credentials';

let staging: string, production: string, mirrorB: string;
let mirrorBCred: Credential;
let challenge: string;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  ({ staging, production, mirrorB } = stack().registries.all);
  mirrorBCred = (await new DockerConfigCredentialStore({ path: stack().dockerConfigFile }).get(mirrorB))!;
  expect(mirrorBCred.password).toBeTruthy();
  const trustingStackCa = new Agent({ connect: { ca: readFileSync(tlsFiles.caCert, 'utf8') } });
  challenge = (await fetch(`https://${mirrorB}/v2/`, { dispatcher: trustingStackCa })).headers.get('www-authenticate')!;
  await trustingStackCa.close();
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

describe('auth', () => {
  it('caches a token per scope set and fetches a new one when the registry rejects it (once)', async () => {
    const tokenHost = new URL(parseWwwAuthenticate(challenge)[0]!.params.realm!).host;
    const proxy = await FaultProxy.start(mirrorB);
    proxies.push(proxy);
    const client = new RegistryClient({ credentials: new StaticCredentialStore({ [proxy.host]: mirrorBCred }) });
    const repo = uniqueName('oci/token');
    const img = await pushRandomImage(client, proxy.host, repo, { tag: 'v1', layerSize: 100 });
    const tokensAfterPush = client.stats()[tokenHost]!.total;
    expect(tokensAfterPush).toBeGreaterThanOrEqual(1);

    // cached: pull,push covers this, no new token request
    expect((await client.headManifest({ host: proxy.host, repository: repo, tag: 'v1' }))?.digest).toBe(img.digest);
    const pullOnly = client.stats()[tokenHost]!.total; // a pull-only scope set is a different cache key
    expect((await client.headManifest({ host: proxy.host, repository: repo, tag: 'v1' }))?.digest).toBe(img.digest);
    expect(client.stats()[tokenHost]!.total).toBe(pullOnly);

    // the registry rejects the cached token: exactly one new token, then success
    proxy.addFault({
      method: 'HEAD',
      path: /\/manifests\/v1$/,
      fault: { kind: 'status', status: 401, headers: { 'WWW-Authenticate': `${challenge},error="invalid_token"` } },
    });
    expect((await client.headManifest({ host: proxy.host, repository: repo, tag: 'v1' }))?.digest).toBe(img.digest);
    expect(client.stats()[tokenHost]!.total).toBe(pullOnly + 1);
  });

  it('gives up with UNAUTHORIZED (bounded) when the registry keeps refusing', async () => {
    const proxy = await FaultProxy.start(mirrorB);
    proxies.push(proxy);
    const client = new RegistryClient({ credentials: new StaticCredentialStore({ [proxy.host]: mirrorBCred }) });
    proxy.addFault({ method: 'GET', path: /^\/v2\/$/, fault: { kind: 'status', status: 401, headers: { 'WWW-Authenticate': challenge } }, times: Infinity });
    await expect(client.ping(proxy.host)).rejects.toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    expect(proxy.requests.length).toBe(3);
  });

  it('a wrong password fails with UNAUTHORIZED and the password appears in no message', async () => {
    const secret = `wrong-${uniqueName('pw')}`;
    const client = new RegistryClient({
      credentials: new StaticCredentialStore({
        [production]: { username: 'promoter', password: secret },
        [mirrorB]: { username: 'promoter', password: secret },
      }),
    });
    for (const host of [production, mirrorB]) {
      const err = await client.ping(host).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(JSON.stringify({ m: err!.message, j: err })).not.toContain(secret);
      expect(JSON.stringify({ m: err!.message })).not.toContain(Buffer.from(`promoter:${secret}`).toString('base64'));
    }
  });

  it('anonymous registries need no credentials; a protected one refuses anonymous pushes', async () => {
    const anon = new RegistryClient();
    await anon.ping(staging);
    await expect(pushRandomImage(anon, production, uniqueName('oci/anon'), { layerSize: 10 })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('deleteManifest removes a manifest by tag or digest', async () => {
    const client = stackClient();
    const repo = uniqueName('oci/delete');
    const img = await pushRandomImage(client, production, repo, { tag: 'v1', layerSize: 10 });
    expect(await client.deleteManifest({ host: production, repository: repo, tag: 'v1' })).toBe(true);
    expect(await client.headManifest({ host: production, repository: repo, digest: img.digest })).toBeUndefined();
    expect(await client.deleteManifest({ host: production, repository: repo, digest: img.digest })).toBe(false);
  });
});
