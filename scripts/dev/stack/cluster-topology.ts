// The Temporal cluster of `stack up --cluster`: the real server's four services as separate
// processes on PostgreSQL, TLS with client certificates on the frontend, and an API-key gate.
// Its ports sit beside the dev server's (7233) so both run at once.
import { join } from 'node:path';
import { stackPaths } from './paths';

export const TEMPORAL_SERVER_VERSION = 'v1.32.2';

export const clusterPorts = {
  postgres: 5440,
  /** gRPC with TLS and client-certificate verification: what workers and the CLI dial. */
  frontend: 7243,
  frontendHttp: 7244,
  frontendMembership: 6943,
  history: 7245,
  historyMembership: 6945,
  matching: 7246,
  matchingMembership: 6946,
  worker: 7249,
  workerMembership: 6949,
  /** TLS, server certificate only; lets through requests with `authorization: Bearer <the key>`. */
  apiKeyGate: 7253,
} as const;

export const CLUSTER_DB_USER = 'temporal';
export const CLUSTER_DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' } as const;

/** The services, one process each (`temporal-server --service NAME start`). */
export const CLUSTER_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

const dir = join(stackPaths.stack, 'temporal-cluster');
export const clusterPaths = {
  dir,
  postgresData: join(dir, 'postgres'),
  serverConfig: join(dir, 'config.yaml'),
  dynamicConfig: join(dir, 'dynamicconfig.yaml'),
  /** Written once the schemas are at this server version. */
  schemaStamp: join(dir, 'schema-version'),
  nginxConfig: join(dir, 'nginx.conf'),
  nginxRuntime: join(dir, 'nginx'),
  /** temporal.toml with the profiles `cluster` (mTLS) and `cluster-api-key` (through the gate). */
  clientProfiles: join(dir, 'temporal.toml'),
  /** Secrets (0600): the database password and the gate's API key. */
  dbPassword: join(stackPaths.secrets, 'temporal-cluster-db-password'),
  apiKey: join(stackPaths.secrets, 'temporal-cluster-api-key'),
} as const;
