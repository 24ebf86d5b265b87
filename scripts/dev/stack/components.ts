// The processes that make up the dev stack: how to start each one and how to tell it is ready.
import { mkdirSync, readFileSync } from 'node:fs';
import { secretFiles } from './credentials';
import { stackPaths, toolPaths } from './paths';
import { httpStatus, temporalServing } from './probes';
import type { ProcessSpec } from './processes';
import { registryConfigPath, registryStorage } from './registry-config';
import { sigstoreComponents, withOidcIssuer } from './sigstore';
import { tlsFiles } from './tls';
import { ensureBucket, s3Answers, versitygwSpec } from './s3';
import { HOST, S3_BUCKET, TEMPORAL_NAMESPACE, TOKEN_ISSUER, TOKEN_SERVICE, ports, registries, searchAttributes } from './topology';
import type { RegistryTopology } from './topology';

export interface Component {
  name: string;
  /** Ports it listens on (checked for strangers before starting). */
  ports: number[];
  /** How long a cold start may take before `up` gives up. */
  startTimeoutMs: number;
  spec(): ProcessSpec;
  ready(): Promise<boolean>;
  /** Runs once the component answers after being started (idempotent). */
  afterReady?(): Promise<void>;
  /** Also run afterReady when the component was already up (state it keeps may have been lost). */
  afterReadyAlways?: boolean;
  /** The signal that shuts it down cleanly (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
}

function need(path: string | undefined, what: string): string {
  if (!path) throw new Error(`${what} not found; run: bash scripts/setup.sh`);
  return path;
}

const temporal: Component = {
  name: 'temporal',
  ports: [ports.temporal, ports.temporalUi],
  startTimeoutMs: 90_000,
  spec() {
    mkdirSync(stackPaths.temporal, { recursive: true });
    const attributes = Object.entries(searchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
    return {
      name: 'temporal',
      command: need(toolPaths().temporal, 'temporal CLI (.tools/venv/bin/temporal)'),
      args: [
        'server',
        'start-dev',
        '--ip',
        HOST,
        '--port',
        String(ports.temporal),
        '--ui-port',
        String(ports.temporalUi),
        '--db-filename',
        stackPaths.temporalDb,
        '--namespace',
        TEMPORAL_NAMESPACE,
        '--log-level',
        'warn',
        '--ui-disable-news-fetch',
        ...attributes,
      ],
    };
  },
  ready: () => temporalServing(HOST, ports.temporal),
  async afterReady() {
    // The health check says the frontend serves; also make sure the namespace answers real calls
    // and our search attributes are registered (a list call with them fails otherwise).
    const { Connection } = await import('@temporalio/client');
    const connection = await Connection.connect({ address: `${HOST}:${ports.temporal}`, connectTimeout: 5_000 });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await connection.workflowService.listWorkflowExecutions({
            namespace: TEMPORAL_NAMESPACE,
            pageSize: 1,
            query: 'PromoterDryRun = true',
          });
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`Temporal answers but the namespace is not usable: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } finally {
      await connection.close();
    }
  },
};

/** The stack CA (PEM), trusted by the readiness probes of the HTTPS services. */
const stackCa = () => readFileSync(tlsFiles.caCert, 'utf8');

function registrySpec(registry: RegistryTopology): ProcessSpec {
  const name = `registry-${registry.name}`;
  if (registry.server === 'olareg') {
    // olareg serves the OCI 1.1 referrers API; --api-delete lets tests and the promoter delete tags.
    return {
      name,
      command: need(toolPaths().olareg, 'olareg (.tools/bin/olareg)'),
      args: ['serve', '--addr', HOST, '--port', String(registry.port), '--dir', registryStorage(registry.name), '--api-delete'],
    };
  }
  return { name, command: need(toolPaths().registry, 'docker-registry (apt-get install docker-registry)'), args: ['serve', registryConfigPath(registry.name)] };
}

const registryComponents: Component[] = registries.map((registry) => ({
  name: `registry-${registry.name}`,
  ports: [registry.port],
  startTimeoutMs: 30_000,
  spec: () => registrySpec(registry),
  ready: async () => {
    const url = `${registry.tls ? 'https' : 'http'}://${HOST}:${registry.port}/v2/`;
    const status = await httpStatus(url, 2_000, {}, registry.tls ? stackCa() : undefined);
    return status === (registry.auth === 'none' ? 200 : 401);
  },
}));

const tokenServer: Component = {
  name: 'token-server',
  ports: [ports.tokenServer],
  startTimeoutMs: 30_000,
  spec: () => ({
    name: 'token-server',
    // One plain node process (no tsx wrapper process), so the pid is the server itself.
    command: process.execPath,
    args: ['--import', 'tsx', stackPaths.tokenServerScript],
    env: {
      PROMOTER_TOKEN_HOST: HOST,
      PROMOTER_TOKEN_PORT: String(ports.tokenServer),
      PROMOTER_TOKEN_SERVICE: TOKEN_SERVICE,
      PROMOTER_TOKEN_ISSUER: TOKEN_ISSUER,
      PROMOTER_TOKEN_KEY: secretFiles.tokenKey,
      PROMOTER_TOKEN_CERT: secretFiles.tokenCert,
      PROMOTER_TOKEN_USERS: secretFiles.tokenUsers,
      PROMOTER_TOKEN_TLS_CERT: tlsFiles.serverCert,
      PROMOTER_TOKEN_TLS_KEY: tlsFiles.serverKey,
    },
  }),
  ready: async () => (await httpStatus(`https://${HOST}:${ports.tokenServer}/healthz`, 2_000, {}, stackCa())) === 200,
};

const s3: Component = {
  name: 's3',
  ports: [ports.s3],
  startTimeoutMs: 60_000,
  spec: () => versitygwSpec({ name: 's3', command: need(toolPaths().versitygw, 'versitygw (.tools/bin/versitygw)'), port: ports.s3, dir: stackPaths.s3 }),
  ready: () => s3Answers(ports.s3),
  // Cheap (one HEAD), and puts the bucket back should someone have removed its folder.
  afterReadyAlways: true,
  afterReady: () => ensureBucket(ports.s3, S3_BUCKET),
};

export const components: Component[] = [temporal, ...registryComponents, withOidcIssuer(tokenServer), s3, ...sigstoreComponents()];
