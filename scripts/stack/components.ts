// The processes that make up the dev stack: how to start each one and how to tell it is ready.
import { mkdirSync } from 'node:fs';
import { secretFiles } from './credentials';
import { stackPaths, toolPaths } from './paths';
import { httpStatus, temporalServing } from './probes';
import type { ProcessSpec } from './processes';
import { registryConfigPath } from './registry-config';
import { sigstoreComponents, withOidcIssuer } from './sigstore';
import {
  HOST, S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY, TEMPORAL_NAMESPACE, TOKEN_ISSUER, TOKEN_SERVICE,
  ports, registries, searchAttributes,
} from './topology';

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
        'server', 'start-dev',
        '--ip', HOST, '--port', String(ports.temporal), '--ui-port', String(ports.temporalUi),
        '--db-filename', stackPaths.temporalDb, '--namespace', TEMPORAL_NAMESPACE,
        '--log-level', 'warn', '--ui-disable-news-fetch',
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

const registryComponents: Component[] = registries.map((registry) => ({
  name: `registry-${registry.name}`,
  ports: [registry.port],
  startTimeoutMs: 30_000,
  spec: () => ({
    name: `registry-${registry.name}`,
    command: need(toolPaths().registry, 'docker-registry (apt-get install docker-registry)'),
    args: ['serve', registryConfigPath(registry.name)],
  }),
  ready: async () => {
    const status = await httpStatus(`http://${HOST}:${registry.port}/v2/`);
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
    },
  }),
  ready: async () => (await httpStatus(`http://${HOST}:${ports.tokenServer}/healthz`)) === 200,
};

const s3: Component = {
  name: 's3',
  ports: [ports.s3],
  startTimeoutMs: 60_000,
  spec: () => ({
    name: 's3',
    command: need(toolPaths().motoServer, 'moto_server (.tools/venv/bin/moto_server)'),
    args: ['-H', HOST, '-p', String(ports.s3)],
  }),
  ready: async () => (await httpStatus(`http://${HOST}:${ports.s3}/moto-api/`)) === 200,
  afterReadyAlways: true,
  async afterReady() {
    // moto keeps buckets in memory: recreate the audit bucket whenever it is missing.
    const { S3Client, HeadBucketCommand, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: `http://${HOST}:${ports.s3}`,
      region: S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    });
    try {
      await client.send(new HeadBucketCommand({ Bucket: S3_BUCKET }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: S3_BUCKET }));
    } finally {
      client.destroy();
    }
  },
};

export const components: Component[] = [temporal, ...registryComponents, withOidcIssuer(tokenServer), s3, ...sigstoreComponents()];
