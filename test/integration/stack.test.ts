// The dev stack itself: every component answers, the two auth schemes work for an independent
// client (skopeo), production, mirror-b and the token server speak HTTPS with the stack CA, and
// bytes survive a round trip through the registries unchanged.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import { skopeoTlsFlags, tlsFiles } from '../../scripts/dev/stack';
import { stack, uniqueName } from '../support/stack-env';

const run = promisify(execFile);
const env = stack();
// Trusts the stack CA only (no system roots needed on loopback), as a client with the certs.d entry would.
const trustingStackCa = new Agent({ connect: { ca: readFileSync(tlsFiles.caCert, 'utf8') } });
const fetchTls = (url: string | URL, init: Parameters<typeof fetch>[1] = {}) => fetch(url, { ...init, dispatcher: trustingStackCa });
const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function basicAuthFor(registry: string): Promise<string> {
  const config = JSON.parse(await readFile(env.dockerConfigFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  const entry = config.auths[registry];
  if (!entry) throw new Error(`no credentials for ${registry} in ${env.dockerConfigFile}`);
  return entry.auth;
}

/** Parses `Bearer realm="...",service="...",scope="..."`. */
function parseBearerChallenge(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  const params: Record<string, string> = {};
  for (const match of header!.slice('Bearer '.length).matchAll(/(\w+)="([^"]*)"/g)) params[match[1]!] = match[2]!;
  return params;
}

async function fetchToken(realm: string, service: string, scopes: string[], basic?: string) {
  const url = new URL(realm);
  url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return fetchTls(url, { headers: basic ? { authorization: `Basic ${basic}` } : {} });
}

function decodeJwt(token: string) {
  const [header, claims] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
  return { header: header!, claims: claims! };
}

/** A one-layer OCI image layout on disk, tagged `v1`, with unique content so digests never collide. */
async function writeOciLayout(dir: string) {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const putBlob = async (data: Buffer) => {
    const digest = sha256(data);
    await writeFile(join(blobs, digest.slice('sha256:'.length)), data);
    return { digest, size: data.length };
  };
  // A minimal uncompressed tar with one file, then gzip it: the layer.
  const content = Buffer.from(`hello from the dev stack ${randomBytes(8).toString('hex')}\n`);
  const tar = tarOneFile('hello.txt', content);
  const layer = await putBlob(gzipSync(tar));
  const config = await putBlob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, config: {} })),
  );
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const manifest = await putBlob(manifestBytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }),
  );
  return { manifestDigest: manifest.digest, manifestBytes, layerDigest: layer.digest };
}

function tarOneFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148); // checksum is computed with these as spaces
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

describe('dev stack', () => {
  it('exports its endpoints into the test environment (global setup)', () => {
    expect(process.env.PROMOTER_STAGING_REGISTRY).toBe('127.0.0.1:5001');
    expect(process.env.PROMOTER_MIRROR_REGISTRIES).toBe('127.0.0.1:5003,127.0.0.1:5004');
    expect(process.env.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(process.env.DOCKER_CONFIG).toBe(env.dockerConfigDir);
  });

  it('serves GET /v2/ anonymously on staging and mirror-a', async () => {
    for (const registry of [env.registries.all.staging, env.registries.all.mirrorA]) {
      const res = await fetch(`http://${registry}/v2/`);
      expect(res.status, registry).toBe(200);
      expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    }
  });

  it('serves production, mirror-b and the token server over HTTPS only, with a certificate from the stack CA', async () => {
    for (const host of [env.registries.production, env.registries.all.mirrorB, 'localhost:5005', '127.0.0.1:5005']) {
      expect(readFileSync(join(env.registryCertsDir, host, 'ca.crt'), 'utf8'), host).toBe(readFileSync(tlsFiles.caCert, 'utf8'));
      // Without the CA the certificate is refused; plain HTTP is not served at all.
      const untrusted = await fetch(`https://${host}/v2/`).then(
        () => 'answered',
        (e: Error & { cause?: { code?: string } }) => e.cause?.code,
      );
      expect(untrusted, host).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
      // distribution answers plain HTTP with 400 ("HTTP request to an HTTPS server"); node's TLS server hangs up.
      const plain = await fetch(`http://${host}/v2/`).then(
        (r) => r.status,
        () => 'refused',
      );
      expect([400, 'refused'], host).toContain(plain);
    }
  });

  it('serves the OCI 1.1 referrers API on mirror-a (olareg); production and mirror-b (distribution) do not', async () => {
    const digest = `sha256:${'0'.repeat(64)}`;
    const repo = uniqueName('stack/referrers');
    const api = await fetch(`http://${env.registries.all.mirrorA}/v2/${repo}/referrers/${digest}`);
    expect(api.status).toBe(200);
    expect(api.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    expect(await api.json()).toMatchObject({ schemaVersion: 2, manifests: [] });

    const auth = `Basic ${await basicAuthFor(env.registries.production)}`;
    const fallbackOnly = await fetchTls(`https://${env.registries.production}/v2/${repo}/referrers/${digest}`, { headers: { authorization: auth } });
    expect(fallbackOnly.status).toBe(404);
  });

  it('requires basic auth on production and accepts the credentials from DOCKER_CONFIG', async () => {
    const registry = env.registries.production;
    const anonymous = await fetchTls(`https://${registry}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const wrong = await fetchTls(`https://${registry}/v2/`, { headers: { authorization: `Basic ${Buffer.from('promoter:wrong').toString('base64')}` } });
    expect(wrong.status).toBe(401);

    const ok = await fetchTls(`https://${registry}/v2/`, { headers: { authorization: `Basic ${await basicAuthFor(registry)}` } });
    expect(ok.status).toBe(200);
  });

  it('requires bearer tokens on mirror-b, issued by the token server for valid users only', async () => {
    const registry = env.registries.all.mirrorB;
    const challenge = await fetchTls(`https://${registry}/v2/`);
    expect(challenge.status).toBe(401);
    const { realm, service } = parseBearerChallenge(challenge.headers.get('www-authenticate'));
    expect(realm).toBe('https://localhost:5005/token');
    expect(service).toBe('promoter-dev');

    const basic = await basicAuthFor(registry);
    const repo = uniqueName('stack/token');
    const tokenRes = await fetchToken(realm!, service!, [`repository:${repo}:pull,push`], basic);
    expect(tokenRes.status).toBe(200);
    const body = (await tokenRes.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
    const { header, claims } = decodeJwt(body.token);
    expect(header.alg).toBe('ES256');
    expect(Array.isArray(header.x5c) && header.x5c.length).toBe(1);
    expect(claims).toMatchObject({ iss: 'promoter-dev-token-issuer', sub: 'promoter', aud: 'promoter-dev' });
    expect(claims.access).toEqual([{ type: 'repository', name: repo, actions: ['pull', 'push'] }]);

    const ok = await fetchTls(`https://${registry}/v2/`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(ok.status).toBe(200);

    // A token the registry did not sign-verify must be refused: flip one signature byte.
    // (The second-to-last character carries full signature bits; the last one partly padding.)
    const flipped = body.token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = body.token.slice(0, -2) + flipped + body.token.slice(-1);
    expect((await fetchTls(`https://${registry}/v2/`, { headers: { authorization: `Bearer ${tampered}` } })).status).toBe(401);

    // Wrong password: no token at all.
    const bad = await fetchToken(realm!, service!, [`repository:${repo}:pull`], Buffer.from('promoter:wrong').toString('base64'));
    expect(bad.status).toBe(401);

    // Anonymous: a token that grants nothing, so the registry refuses to list the repository's tags.
    const anon = (await (await fetchToken(realm!, service!, [`repository:${repo}:pull`])).json()) as { token: string };
    expect(decodeJwt(anon.token).claims.access).toEqual([]);
    const denied = await fetchTls(`https://${registry}/v2/${repo}/tags/list`, { headers: { authorization: `Bearer ${anon.token}` } });
    expect(denied.status).toBe(401);
  });

  describe('skopeo round trip', () => {
    let dir: string;
    let image: Awaited<ReturnType<typeof writeOciLayout>>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'promoter-stack-'));
      image = await writeOciLayout(join(dir, 'layout'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    for (const role of ['production', 'mirrorB'] as const) {
      it(`copies an OCI image into ${role} and reads back the same digest`, async () => {
        const registry = env.registries.all[role];
        const ref = `docker://${registry}/${uniqueName(`stack/skopeo-${role.toLowerCase()}`)}:v1`;
        const auth = ['--authfile', env.dockerConfigFile];
        // Verification on: skopeo trusts the stack CA through the certs.d folder, as the promoter does.
        expect(skopeoTlsFlags(registry)).toEqual([`--cert-dir=${join(env.registryCertsDir, registry)}`]);
        await run('skopeo', ['copy', '--quiet', ...auth, ...skopeoTlsFlags(registry, 'dest'), '--preserve-digests', `oci:${join(dir, 'layout')}:v1`, ref]);

        const { stdout } = await run('skopeo', ['inspect', '--raw', ...auth, ...skopeoTlsFlags(registry), ref], { encoding: 'buffer' });
        expect(sha256(stdout)).toBe(image.manifestDigest);
        expect(Buffer.compare(stdout, image.manifestBytes)).toBe(0);

        // Without credentials the same read is refused; without the CA the certificate is.
        await expect(run('skopeo', ['inspect', '--raw', '--no-creds', ...skopeoTlsFlags(registry), ref])).rejects.toThrow();
        await expect(run('skopeo', ['inspect', '--raw', ...auth, '--cert-dir', dir, ref])).rejects.toThrow(/certificate/);
      });
    }
  });

  it('has the audit bucket in S3 (versitygw, objects on disk under .stack/s3)', async () => {
    const client = new S3Client({
      endpoint: env.s3.endpoint,
      region: env.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: env.s3.accessKeyId, secretAccessKey: env.s3.secretAccessKey },
    });
    try {
      const head = await client.send(new HeadBucketCommand({ Bucket: env.s3.bucket }));
      expect(head.$metadata.httpStatusCode).toBe(200);
      await expect(client.send(new HeadBucketCommand({ Bucket: `${env.s3.bucket}-missing` }))).rejects.toThrow();
    } finally {
      client.destroy();
    }
  });

  it('answers on Temporal with the promoter search attributes registered', async () => {
    const connection = await Connection.connect({ address: env.temporal.address });
    try {
      const list = await connection.workflowService.listWorkflowExecutions({ namespace: env.temporal.namespace, pageSize: 1 });
      expect(Array.isArray(list.executions)).toBe(true);
      const attributes = await connection.operatorService.listSearchAttributes({ namespace: env.temporal.namespace });
      const custom = attributes.customAttributes ?? {};
      // IndexedValueType: KEYWORD = 2, INT = 3, BOOL = 5
      expect(custom).toMatchObject({
        PromoterPhase: 2,
        PromoterStatus: 2,
        PromoterDryRun: 5,
        PromoterEdgesTotal: 3,
        PromoterEdgesPromoted: 3,
        PromoterEdgesFailed: 3,
      });
    } finally {
      await connection.close();
    }
  });

  it('provides the demo key pair and the docker config privately', async () => {
    const { stat } = await import('node:fs/promises');
    expect((await stat(env.signingKeyPath)).mode & 0o077).toBe(0);
    expect((await stat(env.dockerConfigFile)).mode & 0o077).toBe(0);
    expect(await readFile(env.publicKeyPath, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(await readFile(env.signingKeyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });
});
