// `npm run stack -- up --cluster`: the real Temporal server (go.temporal.io/server), its four
// services as separate processes on the stack's PostgreSQL, schemas by temporal-sql-tool, TLS
// with client-certificate verification on the frontend (certificates from the stack CA), the
// `default` namespace and the promoter's search attributes, and an API-key gate in front.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadTemporalSettings } from '../../../worker/connection';
import { apiKeyGate, clusterApiKey, nginxBinary } from './api-key-gate';
import { clusterTlsFiles, ensureClusterTls } from './cluster-tls';
import {
  CLUSTER_DATABASES,
  CLUSTER_DB_USER,
  CLUSTER_SERVICES,
  TEMPORAL_SERVER_VERSION,
  clusterPaths,
  clusterPorts,
  type ClusterService,
} from './cluster-topology';
import type { Component } from './components';
import { ensureComponent } from './ensure';
import { stackPaths } from './paths';
import { dbPassword, postgres, postgresBinDir } from './postgres';
import { portOpen, temporalServing } from './probes';
import { HOST, TEMPORAL_NAMESPACE, searchAttributes } from './topology';

const run = promisify(execFile);

const clusterTools = () => ({
  server: existsSync(join(stackPaths.toolsBin, 'temporal-server')) ? join(stackPaths.toolsBin, 'temporal-server') : undefined,
  sqlTool: existsSync(join(stackPaths.toolsBin, 'temporal-sql-tool')) ? join(stackPaths.toolsBin, 'temporal-sql-tool') : undefined,
});

/** Why the cluster cannot run here (a line for `up` and for the tests that skip), or undefined. */
export function clusterUnavailable(): string | undefined {
  const t = clusterTools();
  if (!t.server || !t.sqlTool)
    return 'the Temporal server is not built (.tools/bin/temporal-server, temporal-sql-tool): run bash scripts/setup/temporal-cluster.sh';
  if (!postgresBinDir()) return 'PostgreSQL is not installed: run bash scripts/setup/temporal-cluster.sh';
  if (!nginxBinary()) return 'nginx (the API-key gate) is not installed: run bash scripts/setup/temporal-cluster.sh';
  return undefined;
}

function need(path: string | undefined, what: string): string {
  if (!path) throw new Error(`${what} not found; run: bash scripts/setup/temporal-cluster.sh`);
  return path;
}

/** The services' ports as the server's config names them. */
const servicePorts: Record<ClusterService, { grpcPort: number; membershipPort: number; httpPort?: number }> = {
  frontend: { grpcPort: clusterPorts.frontend, membershipPort: clusterPorts.frontendMembership, httpPort: clusterPorts.frontendHttp },
  history: { grpcPort: clusterPorts.history, membershipPort: clusterPorts.historyMembership },
  matching: { grpcPort: clusterPorts.matching, membershipPort: clusterPorts.matchingMembership },
  worker: { grpcPort: clusterPorts.worker, membershipPort: clusterPorts.workerMembership },
};

// The password stays out of the file: the server renders it from its environment at start.
function serverConfig(): string {
  const datastore = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${HOST}:${clusterPorts.postgres}"
        connectProtocol: tcp
        user: ${CLUSTER_DB_USER}
        password: '{{ env "PROMOTER_CLUSTER_DB_PASSWORD" }}'
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const services = CLUSTER_SERVICES.map((name) => {
    const p = servicePorts[name];
    return `  ${name}:
    rpc:
      grpcPort: ${p.grpcPort}
      membershipPort: ${p.membershipPort}
      bindOnIP: "${HOST}"${p.httpPort ? `\n      httpPort: ${p.httpPort}` : ''}`;
  }).join('\n');
  return `# enable-template
# Written by npm run stack -- up --cluster (scripts/dev/stack/temporal-cluster.ts).
log:
  stdout: true
  level: warn
persistence:
  numHistoryShards: 4
  defaultStore: default
  visibilityStore: visibility
  datastores:
    default:${datastore(CLUSTER_DATABASES.temporal, 10)}
    visibility:${datastore(CLUSTER_DATABASES.visibility, 5)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "${HOST}"
  tls:
    frontend:
      server:
        certFile: ${clusterTlsFiles.frontend.cert}
        keyFile: ${clusterTlsFiles.frontend.key}
        requireClientAuth: true
        clientCaFiles: [${clusterTlsFiles.ca}]
      client:
        serverName: localhost
        rootCaFiles: [${clusterTlsFiles.ca}]
    # The server's own worker service dials the frontend like any client: with a certificate.
    systemWorker:
      certFile: ${clusterTlsFiles.systemWorker.cert}
      keyFile: ${clusterTlsFiles.systemWorker.key}
      client:
        serverName: localhost
        rootCaFiles: [${clusterTlsFiles.ca}]
services:
${services}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "${HOST}:${clusterPorts.frontend}"
      httpAddress: "${HOST}:${clusterPorts.frontendHttp}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${clusterPaths.dynamicConfig}
  pollInterval: 10s
`;
}

// Search attributes usable right after they are added (as on the dev server); one task-queue
// partition, so a DescribeTaskQueue sees every poller (the promoter shares registry budgets by them).
const DYNAMIC_CONFIG = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
matching.numTaskqueueReadPartitions:
  - value: 1
matching.numTaskqueueWritePartitions:
  - value: 1
`;

function writeIfChanged(path: string, content: string, mode = 0o644): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return;
  writeFileSync(path, content, { mode });
}

function writeServerConfig(): void {
  mkdirSync(clusterPaths.dir, { recursive: true });
  writeIfChanged(clusterPaths.serverConfig, serverConfig());
  writeIfChanged(clusterPaths.dynamicConfig, DYNAMIC_CONFIG);
}

/** Both databases created and at this server's schema (temporal-sql-tool, embedded schemas). Once per version. */
async function ensureSchemas(log: (line: string) => void): Promise<void> {
  if (existsSync(clusterPaths.schemaStamp) && readFileSync(clusterPaths.schemaStamp, 'utf8').trim() === TEMPORAL_SERVER_VERSION) return;
  const tool = need(clusterTools().sqlTool, 'temporal-sql-tool (.tools/bin/temporal-sql-tool)');
  const env = { ...process.env, SQL_PASSWORD: dbPassword() };
  const common = ['--plugin', 'postgres12', '--ep', HOST, '-p', String(clusterPorts.postgres), '-u', CLUSTER_DB_USER];
  const sql = async (db: string, ...args: string[]) => {
    try {
      await run(tool, [...common, '--db', db, ...args], { env });
    } catch (err) {
      const out = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
      if (/already exists/.test(out)) return;
      throw new Error(`temporal-sql-tool ${args[0]} (${db}) failed: ${out.trim() || (err as Error).message}`);
    }
  };
  for (const [db, schema] of [
    [CLUSTER_DATABASES.temporal, 'temporal'],
    [CLUSTER_DATABASES.visibility, 'visibility'],
  ] as const) {
    log(`  schema ${db} (postgresql/v12/${schema})`);
    await sql(db, 'create-database');
    await sql(db, 'setup-schema', '-v', '0.0');
    await sql(db, 'update-schema', '--schema-name', `postgresql/v12/${schema}`);
  }
  writeFileSync(clusterPaths.schemaStamp, `${TEMPORAL_SERVER_VERSION}\n`);
}

const frontendTls = () => ({
  ca: readFileSync(clusterTlsFiles.ca, 'utf8'),
  cert: readFileSync(clusterTlsFiles.client.cert, 'utf8'),
  key: readFileSync(clusterTlsFiles.client.key, 'utf8'),
});

const HEALTH_SERVICE: Record<'history' | 'matching', string> = {
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
};

function serviceComponent(service: ClusterService): Component {
  const p = servicePorts[service];
  return {
    name: `temporal-${service}`,
    ports: [p.grpcPort, p.membershipPort, ...(p.httpPort ? [p.httpPort] : [])],
    startTimeoutMs: 90_000,
    spec: () => ({
      name: `temporal-${service}`,
      command: need(clusterTools().server, 'temporal-server (.tools/bin/temporal-server)'),
      args: ['--config-file', clusterPaths.serverConfig, '--allow-no-auth', 'start', '--service', service],
      env: { PROMOTER_CLUSTER_DB_PASSWORD: dbPassword() },
      // The server reads TEMPORAL_* of its own (TEMPORAL_SERVICES, …): a client's settings must not leak in.
      dropEnv: /^TEMPORAL_/,
    }),
    ready: () => {
      if (service === 'frontend') return temporalServing(HOST, p.grpcPort, 2_000, undefined, frontendTls());
      if (service === 'worker') return portOpen(HOST, p.membershipPort);
      return temporalServing(HOST, p.grpcPort, 2_000, HEALTH_SERVICE[service]);
    },
  };
}

const clusterServices: Component[] = CLUSTER_SERVICES.map(serviceComponent);

/** Every process of the cluster, for status and down. */
export const clusterComponents: Component[] = [postgres, ...clusterServices, apiKeyGate];

/** The variables a client of the cluster needs (mTLS, straight to the frontend). */
export function clusterEnv(): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: `${HOST}:${clusterPorts.frontend}`,
    TEMPORAL_NAMESPACE: TEMPORAL_NAMESPACE,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: clusterTlsFiles.ca,
    TEMPORAL_TLS_CLIENT_CERT_PATH: clusterTlsFiles.client.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: clusterTlsFiles.client.key,
  };
}

/** temporal.toml with the cluster's two ways in, for TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE (0600: it holds the API key). */
function writeClientProfiles(): void {
  const toml = `# Written by npm run stack -- up --cluster. TEMPORAL_CONFIG_FILE=<this file> TEMPORAL_PROFILE=cluster | cluster-api-key
[profile.cluster]
address = "${HOST}:${clusterPorts.frontend}"
namespace = "${TEMPORAL_NAMESPACE}"
[profile.cluster.tls]
server_ca_cert_path = "${clusterTlsFiles.ca}"
client_cert_path = "${clusterTlsFiles.client.cert}"
client_key_path = "${clusterTlsFiles.client.key}"

[profile.cluster-api-key]
address = "${HOST}:${clusterPorts.apiKeyGate}"
namespace = "${TEMPORAL_NAMESPACE}"
api_key = "${clusterApiKey()}"
[profile.cluster-api-key.tls]
server_ca_cert_path = "${clusterTlsFiles.ca}"
`;
  writeIfChanged(clusterPaths.clientProfiles, toml, 0o600);
}

/** Settings of a profile of the cluster's temporal.toml, read the way every promoter process reads them. */
export function clusterSettings(profile: 'cluster' | 'cluster-api-key' = 'cluster') {
  return loadTemporalSettings({ TEMPORAL_CONFIG_FILE: clusterPaths.clientProfiles, TEMPORAL_PROFILE: profile });
}

/**
 * The `default` namespace and the promoter's search attributes, then a visibility query that
 * uses one of them (it fails until they are registered). Idempotent and cheap when all is there.
 */
async function ensureNamespace(): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  const { msToTs } = await import('@temporalio/common/lib/time');
  const proto = (await import('@temporalio/proto')).default;
  const { IndexedValueType } = proto.temporal.api.enums.v1;
  const settings = clusterSettings();
  // By name: this client sends an IP address as the TLS server name otherwise, which Node deprecates.
  const tls = { ...(settings.connectionOptions.tls as object), serverNameOverride: 'localhost' };
  const connection = await Connection.connect({ ...settings.connectionOptions, tls, connectTimeout: 10_000 });
  const types: Record<string, number> = {
    Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  };
  const retry = async <T>(what: string, fn: () => Promise<T>, ok: (err: Error) => boolean = () => false): Promise<T | undefined> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (ok(err as Error)) return undefined;
        if (Date.now() > deadline) throw new Error(`Temporal cluster: ${what}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  try {
    const ns = settings.namespace;
    await retry(
      'register namespace',
      () => connection.workflowService.registerNamespace({ namespace: ns, workflowExecutionRetentionPeriod: msToTs('7 days') }),
      (err) => /already exists|AlreadyExists/i.test(err.message) || (err as { code?: number }).code === 6,
    );
    await retry('describe namespace', () => connection.workflowService.describeNamespace({ namespace: ns }));
    const existing = (await retry('list search attributes', () => connection.operatorService.listSearchAttributes({ namespace: ns })))?.customAttributes ?? {};
    const missing = Object.fromEntries(
      Object.entries(searchAttributes)
        .filter(([name]) => !(name in existing))
        .map(([name, type]) => [name, types[type]!]),
    );
    if (Object.keys(missing).length > 0) {
      await retry(
        'add search attributes',
        () => connection.operatorService.addSearchAttributes({ namespace: ns, searchAttributes: missing }),
        (err) => /already exists|AlreadyExists/i.test(err.message),
      );
    }
    await retry('query by search attribute', () =>
      connection.workflowService.listWorkflowExecutions({ namespace: ns, pageSize: 1, query: 'PromoterDryRun = true' }),
    );
  } finally {
    await connection.close();
  }
}

/**
 * Brings the cluster up (idempotent): TLS material, PostgreSQL, the schemas, the four services,
 * the namespace and search attributes, the API-key gate. Returns the names it started.
 */
export async function ensureCluster(log: (line: string) => void = () => {}): Promise<string[]> {
  const unavailable = clusterUnavailable();
  if (unavailable) throw new Error(`Temporal cluster: ${unavailable}`);
  ensureClusterTls();
  writeServerConfig();
  writeClientProfiles();
  const started: string[] = [];
  const ensure = async (c: Component) => {
    if ((await ensureComponent(c, log)) === 'started') started.push(c.name);
  };
  await ensure(postgres);
  await ensureSchemas(log);
  // The first service to start on an empty database writes the cluster metadata record. Two doing
  // it at once race, and the loser exits with "failed to initialize current cluster metadata", so
  // one service starts alone and the rest follow in parallel once it is serving.
  const [first, ...rest] = clusterServices;
  await ensure(first!);
  const outcomes = await Promise.allSettled(rest.map(ensure));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
  if (failures.length > 0) throw new Error(failures.join('\n\n'));
  await ensureNamespace();
  await ensure(apiKeyGate);
  return started;
}
