// The stack's Temporal cluster for tests (test/integration/cluster/): whether it runs here, the
// environment a worker or the CLI needs for each way in (mTLS, the API-key gate), a checked client,
// and its services' processes to kill and bring back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { connectClient, type ConnectedClient } from '../../client/connect';
import { clusterEnv, clusterPaths, ensureCluster } from '../../scripts/dev/stack';
import { clusterComponents } from '../../scripts/dev/stack/temporal-cluster';
import { runningPid, stopProcess } from '../../scripts/dev/stack/processes';
import type { WorkerProcess } from './worker-process';

/** Set by test/cluster-setup.ts when the cluster cannot run here: the tests skip and say why. */
export const CLUSTER_SKIP_VARIABLE = 'PROMOTER_CLUSTER_SKIP';
export const clusterSkipReason = (): string | undefined => process.env[CLUSTER_SKIP_VARIABLE] || undefined;

/** No TEMPORAL_* of the dev stack (inherited from the global setup) may mix into a cluster client's settings. */
const NO_DEV_TEMPORAL = {
  TEMPORAL_ADDRESS: undefined,
  TEMPORAL_NAMESPACE: undefined,
  TEMPORAL_API_KEY: undefined,
  TEMPORAL_PROFILE: undefined,
  TEMPORAL_CONFIG_FILE: undefined,
};

export type ClusterAccess = 'mtls' | 'api-key';

/** Environment for a worker or CLI on the cluster: straight to the frontend with mTLS, or through the API-key gate by profile. */
export function clusterClientEnv(access: ClusterAccess = 'mtls', extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const base = access === 'mtls' ? clusterEnv() : { TEMPORAL_CONFIG_FILE: clusterPaths.clientProfiles, TEMPORAL_PROFILE: 'cluster-api-key' };
  return { ...NO_DEV_TEMPORAL, ...base, ...extra };
}

export const clusterTaskQueue = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** A client of the cluster (mTLS) for the file's tests, and the worker processes to kill after them. */
export function useCluster(): { client: () => ConnectedClient['client']; workers: WorkerProcess[] } {
  let connected: ConnectedClient | undefined;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    if (clusterSkipReason()) return;
    connected = await connectClient({ HOME: process.env.HOME, ...(clusterClientEnv() as Record<string, string>) });
  });
  afterAll(async () => {
    for (const w of workers) await w.kill();
    await connected?.close();
  });
  return {
    client: () => {
      if (!connected) throw new Error('cluster client not connected');
      return connected.client;
    },
    workers,
  };
}

export type ClusterProcess = 'temporal-history' | 'temporal-matching' | 'temporal-frontend' | 'temporal-worker' | 'temporal-postgres';

/** SIGKILL one of the cluster's processes (no shutdown of any kind); returns its pid. */
export function killClusterProcess(name: ClusterProcess): number {
  const pid = runningPid(name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(pid, 'SIGKILL');
  return pid;
}

/** Stops one of the cluster's processes the way `stack down` does (its clean shutdown), waiting for its exit. */
export async function stopClusterProcess(name: ClusterProcess): Promise<void> {
  const component = clusterComponents.find((c) => c.name === name);
  if (!(await stopProcess(name, undefined, component?.stopSignal))) throw new Error(`${name} was not running`);
}

/** Starts whatever of the cluster is not running (as `stack up --cluster` would) and waits until it serves. */
export async function restoreCluster(): Promise<string[]> {
  return ensureCluster();
}

export const clusterPid = (name: ClusterProcess) => runningPid(name);
