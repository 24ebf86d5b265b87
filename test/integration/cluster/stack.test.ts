// The stack's Temporal cluster itself, as its operator would look at it: the real server on
// PostgreSQL with its services as separate processes, on loopback only, the promoter's search
// attributes registered, the same profiles read by the `temporal` CLI, and no secret in a file
// anyone may read.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { clusterPaths, clusterPorts, searchAttributes, stackPaths, toolPaths } from '../../../scripts/dev/stack';
import { clusterPid, clusterSkipReason } from '../../support/cluster';

const run = promisify(execFile);
const skip = clusterSkipReason();

/** The `temporal` CLI (the dev server's package) with one of the cluster's profiles. */
async function temporalCli(profile: string, args: string[]): Promise<string> {
  const env = { ...process.env, TEMPORAL_CONFIG_FILE: clusterPaths.clientProfiles, TEMPORAL_PROFILE: profile, TEMPORAL_ADDRESS: undefined };
  return (await run(toolPaths().temporal!, args, { env })).stdout;
}

/** Local addresses listening on `port` (from /proc/net/tcp: hex IP and port). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[3] === '0A' && f[1]?.endsWith(`:${hexPort}`))
    .map((f) => f[1]!.split(':')[0]!);
}

describe.skipIf(skip)(`the stack's Temporal cluster${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('is the real server v1.32.2 on PostgreSQL (4 history shards), as the temporal CLI sees it with the profile', async () => {
    const cluster = JSON.parse(await temporalCli('cluster', ['operator', 'cluster', 'describe', '-o', 'json'])) as Record<string, unknown>;
    expect(cluster).toMatchObject({ serverVersion: '1.32.2', persistenceStore: 'postgres12', visibilityStore: 'postgres12', historyShardCount: 4 });
  });

  it('runs frontend, history, matching and worker as four processes, listening on 127.0.0.1 only', () => {
    const pids = (['temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker'] as const).map((name) => {
      const pid = clusterPid(name);
      expect(pid, name).toBeDefined();
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(cmdline.slice(-3), name).toEqual(['start', '--service', name.replace('temporal-', '')]);
      return pid;
    });
    expect(new Set(pids).size).toBe(4);
    for (const port of Object.values(clusterPorts)) expect(listeners(port), String(port)).toEqual(['0100007F']);
  });

  it('has the promoter search attributes in the default namespace, seen through the API-key gate', async () => {
    const list = JSON.parse(await temporalCli('cluster-api-key', ['operator', 'search-attribute', 'list', '-o', 'json'])) as {
      customAttributes: Record<string, string>;
    };
    const expected = Object.fromEntries(Object.entries(searchAttributes).map(([name, type]) => [name, `INDEXED_VALUE_TYPE_${type.toUpperCase()}`]));
    expect(list.customAttributes).toEqual(expected);
  });

  it('keeps secrets out of readable files: the server config names no password, profiles and key are 0600', () => {
    const password = readFileSync(clusterPaths.dbPassword, 'utf8').trim();
    const config = readFileSync(clusterPaths.serverConfig, 'utf8');
    expect(config).not.toContain(password);
    expect(config).toContain('{{ env "PROMOTER_CLUSTER_DB_PASSWORD" }}');
    for (const file of [clusterPaths.dbPassword, clusterPaths.apiKey, clusterPaths.clientProfiles, join(stackPaths.secrets, 'temporal-cluster-api-key.map')]) {
      expect(statSync(file).mode & 0o077, file).toBe(0);
    }
    expect(readFileSync(clusterPaths.nginxConfig, 'utf8')).not.toContain(readFileSync(clusterPaths.apiKey, 'utf8').trim());
  });

  it('`stack env --cluster` points TEMPORAL_* at the frontend with mTLS; `stack env` takes the client certificate away again', async () => {
    const tsx = join(stackPaths.root, 'node_modules', '.bin', 'tsx');
    const script = join(stackPaths.root, 'scripts', 'dev', 'stack.ts');
    const cluster = (await run(tsx, [script, 'env', '--cluster'])).stdout;
    expect(cluster).toContain(`export TEMPORAL_ADDRESS=127.0.0.1:${clusterPorts.frontend}`);
    for (const name of ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'])
      expect(cluster).toMatch(new RegExp(`^export ${name}=/`, 'm'));
    const dev = (await run(tsx, [script, 'env'])).stdout;
    expect(dev).toContain('export TEMPORAL_ADDRESS=127.0.0.1:7233');
    expect(dev).toMatch(/^unset TEMPORAL_TLS_SERVER_CA_CERT_PATH TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH$/m);
  });
});
