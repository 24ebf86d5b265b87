// docker-compose.yml must describe the same stack as `npm run stack -- up` (scripts/dev/stack/topology.ts):
// Docker cannot run here, so this reads the file the way compose would and compares.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import {
  AUDIT_RECEIVER_PORT,
  HOST,
  ports,
  registries,
  S3_ACCESS_KEY,
  S3_BUCKET,
  S3_REGION,
  S3_SECRET_KEY,
  TOKEN_ISSUER,
  TOKEN_REALM,
  TOKEN_SERVICE,
  tlsHosts,
} from '../../../scripts/dev/stack/topology';
import { searchAttributes } from '../../../scripts/dev/stack';
import { stackEnv } from '../../../scripts/dev/stack/env';

const root = join(import.meta.dirname, '..', '..', '..');

interface Service {
  image: string;
  ports?: string[];
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  network_mode?: string;
  depends_on?: Record<string, { condition: string }>;
}

async function compose(): Promise<Record<string, Service>> {
  const doc = parseDocument(await readFile(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  expect(doc.errors).toEqual([]);
  return (doc.toJS() as { services: Record<string, Service> }).services;
}

/** "127.0.0.1:5002:5000" -> { host: "127.0.0.1", port: 5002, container: 5000 } */
const published = (spec: string) => {
  const [host, port, container] = spec.split(':');
  return { host, port: Number(port), container: Number(container) };
};

const registryConfig = async (name: string) =>
  parse(await readFile(join(root, 'deploy', 'registry', `${name}.yml`), 'utf8')) as {
    http?: { tls?: { certificate: string; key: string } };
    auth?: Record<string, Record<string, string>>;
    notifications?: { endpoints: { url: string; headers: Record<string, string[]> }[] };
  };

function verifyHtpasswd(file: string, user: string, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = execFile('htpasswd', ['-vi', file, user], (err) => resolve(!err));
    child.stdin?.end(password);
  });
}

describe('docker-compose.yml against the dev stack topology', () => {
  it('publishes exactly the stack ports, on loopback', async () => {
    const services = await compose();
    const all = Object.values(services)
      .flatMap((s) => s.ports ?? [])
      .map(published);
    expect(all.every((p) => p.host === HOST)).toBe(true);
    const expected = Object.entries(ports)
      .filter(([name]) => name !== 'workerMetrics')
      .map(([, port]) => port);
    expect(all.map((p) => p.port).sort()).toEqual([...expected].sort());
  });

  it('runs each registry with the server, port, TLS and auth of the topology', async () => {
    const services = await compose();
    for (const registry of registries) {
      const service = services[`registry-${registry.name}`];
      expect(service, registry.name).toBeDefined();
      expect(
        service!.ports!.map(published).map((p) => p.port),
        registry.name,
      ).toEqual([registry.port]);
      if (registry.server === 'olareg') {
        expect(service!.image).toBe('ghcr.io/olareg/olareg:v0.2.2');
        expect(service!.command).toEqual(expect.arrayContaining(['serve', '--api-delete']));
        expect(registry.tls).toBe(false);
        continue;
      }
      expect(service!.image).toMatch(/^registry:2\./);
      const config = await registryConfig(registry.name);
      if (registry.tls) {
        expect(config.http?.tls, registry.name).toEqual({ certificate: '/tls/server.crt', key: '/tls/server.key' });
        expect(service!.volumes).toContain('./.compose/tls:/tls:ro');
        expect(service!.depends_on?.['tls-init']?.condition).toBe('service_completed_successfully');
      } else {
        expect(config.http?.tls, registry.name).toBeUndefined();
      }
      if (registry.auth === 'none') expect(config.auth, registry.name).toBeUndefined();
      if (registry.auth === 'htpasswd') expect(config.auth?.htpasswd?.path).toBe('/auth/production.htpasswd');
      if (registry.auth === 'token') {
        expect(config.auth?.token).toMatchObject({ realm: TOKEN_REALM, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER });
      }
    }
  });

  it('makes the dev CA for every HTTPS host and serves the token server over HTTPS', async () => {
    const services = await compose();
    const init = services['tls-init']!;
    expect(init.command?.slice(0, 3)).toEqual(['sh', '/deploy/tls/make-certs.sh', '/tls']);
    expect(init.command?.slice(3).sort()).toEqual([...tlsHosts].sort());
    const token = services['token-server']!;
    // The container runs the stack's own token server from the mounted scripts folder.
    const script = token.command!.at(-1)!;
    expect(script).toBe('scripts/dev/token-server.ts');
    await expect(readFile(join(root, script), 'utf8')).resolves.toContain('export function ensureTokenKeyPair');
    expect(token.volumes).toContain('./scripts:/app/scripts:ro');
    expect(token.environment).toMatchObject({
      PROMOTER_TOKEN_PORT: String(ports.tokenServer),
      PROMOTER_TOKEN_SERVICE: TOKEN_SERVICE,
      PROMOTER_TOKEN_ISSUER: TOKEN_ISSUER,
      PROMOTER_TOKEN_TLS_CERT: '/tls/server.crt',
      PROMOTER_TOKEN_TLS_KEY: '/tls/server.key',
    });
  });

  it("sends production's pushes to the audit receiver, which holds the same secret", async () => {
    const services = await compose();
    const receiver = services['audit-receiver']!;
    expect(receiver.network_mode).toBe('host');
    expect(receiver.command?.at(-1)).toContain('client/cli.ts audit-receiver');
    const [endpoint] = (await registryConfig('production')).notifications!.endpoints;
    expect(new URL(endpoint!.url).port).toBe(String(AUDIT_RECEIVER_PORT));
    expect(receiver.environment?.PROMOTER_AUDIT_RECEIVER_ADDRESS).toBe(`0.0.0.0:${AUDIT_RECEIVER_PORT}`);
    expect(endpoint!.headers.Authorization).toEqual([`Bearer ${receiver.environment?.PROMOTER_AUDIT_WEBHOOK_SECRET}`]);
  });

  it('keeps S3 on disk (versitygw) with the audit bucket and the stack credentials', async () => {
    const s3 = (await compose()).s3!;
    expect(s3.image).toBe('versity/versitygw:v1.8.0');
    expect(s3.entrypoint?.join(' ')).toContain(`mkdir -p /data/${S3_BUCKET}`);
    expect(s3.entrypoint?.join(' ')).toContain(`--port :${ports.s3}`);
    expect(s3.environment).toEqual({ ROOT_ACCESS_KEY: S3_ACCESS_KEY, ROOT_SECRET_KEY: S3_SECRET_KEY });
    expect(s3.volumes).toContain('s3-data:/data');
  });

  it('gives the worker the environment `stack env` prints, and the metrics port', async () => {
    const worker = (await compose()).worker!;
    expect(worker.network_mode).toBe('host');
    const env = stackEnv();
    for (const name of [
      'TEMPORAL_ADDRESS',
      'PROMOTER_STAGING_REGISTRY',
      'PROMOTER_PRODUCTION_REGISTRY',
      'PROMOTER_MIRROR_REGISTRIES',
      'PROMOTER_S3_ENDPOINT',
      'PROMOTER_S3_BUCKET',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_REGION',
      'PROMOTER_ALLOWED_REGISTRIES',
    ]) {
      expect(worker.environment?.[name], name).toBe(env[name]);
    }
    expect(worker.environment?.AWS_REGION).toBe(S3_REGION);
    expect(worker.environment?.PROMOTER_REGISTRY_CERTS_DIR).toBe('/app/.compose/tls/certs.d');
    expect(worker.environment?.PROMOTER_METRICS_PORT).toBe(String(ports.workerMetrics));
    expect(ports.workerMetrics).toBe(9464);
  });

  it('registers the promoter search attributes with Temporal', async () => {
    const args = (await compose()).temporal?.command ?? [];
    for (const [name, type] of Object.entries(searchAttributes)) expect(args).toContain(`--search-attribute=${name}=${type}`);
  });

  it('has dev credentials that match between the docker config, htpasswd and token users', async () => {
    const dockerConfig = JSON.parse(await readFile(join(root, 'deploy', 'docker', 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    const tokenUsers = (await readFile(join(root, 'deploy', 'auth', 'token-users'), 'utf8')).split('\n').filter((l) => l.startsWith('promoter:'));
    expect(Buffer.from(dockerConfig.auths[`${HOST}:${ports.mirrorB}`]!.auth, 'base64').toString()).toBe(tokenUsers[0]);
    const htpasswdFile = join(root, 'deploy', 'auth', 'production.htpasswd');
    expect(await readFile(htpasswdFile, 'utf8')).toMatch(/^promoter:\$2[aby]\$/);
    // The bcrypt entry must accept the password the docker config carries for production.
    const productionPassword = Buffer.from(dockerConfig.auths[`${HOST}:${ports.production}`]!.auth, 'base64').toString().slice('promoter:'.length);
    await expect(verifyHtpasswd(htpasswdFile, 'promoter', productionPassword)).resolves.toBe(true);
    await expect(verifyHtpasswd(htpasswdFile, 'promoter', 'wrong')).resolves.toBe(false);
  });
});
