// The cluster's PostgreSQL (Debian's), run as a plain process on 127.0.0.1 with its data under
// .stack/temporal-cluster/postgres, not as the system service. Superuser `temporal` with a
// generated password (scram-sha-256 on TCP; no Unix socket). PostgreSQL refuses to run as root:
// as root, it runs in a user namespace where the stack's uid appears as the `postgres` account's,
// so its files stay the stack's own (no chown, and any checkout path works).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from './components';
import { randomPassword, secretOnce } from './credentials';
import { CLUSTER_DB_USER, clusterPaths, clusterPorts } from './cluster-topology';
import { HOST } from './topology';

/** The newest installed PostgreSQL's bin folder (/usr/lib/postgresql/<major>/bin), if any. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] !== undefined ? join(base, majors[0], 'bin') : undefined;
}

function bin(name: string): string {
  const dir = postgresBinDir();
  if (!dir) throw new Error('PostgreSQL not found (/usr/lib/postgresql/*/bin); run: bash scripts/setup/temporal-cluster.sh');
  return join(dir, name);
}

/** `unshare` so that root runs PostgreSQL under the postgres account's uid; nothing when not root. */
function asPostgresUser(): string[] {
  if (process.getuid?.() !== 0) return [];
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = passwd?.split(':') ?? [];
  if (!uid || !gid) throw new Error('no postgres account in /etc/passwd (apt-get install postgresql)');
  return ['unshare', '--user', `--map-user=${uid}`, `--map-group=${gid}`, '--'];
}

export const dbPassword = () => secretOnce(clusterPaths.dbPassword, randomPassword);

function initialize(): void {
  if (existsSync(join(clusterPaths.postgresData, 'PG_VERSION'))) return;
  mkdirSync(clusterPaths.postgresData, { recursive: true, mode: 0o700 });
  dbPassword();
  const [launcher, ...launcherArgs] = asPostgresUser();
  const initdb = [
    bin('initdb'),
    '-D',
    clusterPaths.postgresData,
    '-U',
    CLUSTER_DB_USER,
    `--pwfile=${clusterPaths.dbPassword}`,
    '--auth-host=scram-sha-256',
    '--auth-local=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ];
  try {
    execFileSync(launcher ?? initdb[0]!, launcher ? [...launcherArgs, ...initdb] : initdb.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`);
  }
}

/** Accepts connections (not only listening: pg_isready waits out "the database system is starting up"). */
function postgresReady(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(bin('pg_isready'), ['-q', '-h', HOST, '-p', String(clusterPorts.postgres), '-t', '2'], (err) => resolve(!err));
  });
}

export const postgres: Component = {
  name: 'temporal-postgres',
  ports: [clusterPorts.postgres],
  startTimeoutMs: 60_000,
  spec() {
    initialize();
    return {
      name: 'temporal-postgres',
      command: bin('postgres'),
      launcher: asPostgresUser(),
      args: [
        '-D',
        clusterPaths.postgresData,
        '-c',
        `listen_addresses=${HOST}`,
        '-c',
        `port=${clusterPorts.postgres}`,
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        '-c',
        'log_min_messages=warning',
      ],
    };
  },
  ready: postgresReady,
  // Fast shutdown: SIGTERM is PostgreSQL's "smart" one, which waits for every client to leave, and
  // the Temporal services never do (they reconnect).
  stopSignal: 'SIGINT',
};
