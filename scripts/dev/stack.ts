// The local dev stack: Temporal dev server, four registries (one with basic auth, one with token
// auth, two over HTTPS, one with the OCI 1.1 referrers API), a token server, versitygw S3, a local
// CA, credentials and a demo signing key, all under .stack/.
//
//   npm run stack -- up [--cluster] | down | env [--cluster] | status
//
// --cluster: also the real Temporal server (four services on PostgreSQL, TLS with client
// certificates, an API-key gate); `env --cluster` points TEMPORAL_* at it.
//
// Other TypeScript (tests, demo, bench) imports stackUp / stackDown / stackEnv / stackPaths.
import { envAsShell, stackEnv } from './stack/env';
import { stackDown, stackStatus, stackUp } from './stack/lifecycle';
import { stackPaths, toolPaths } from './stack/paths';
import { clusterEnv, clusterUnavailable } from './stack/temporal-cluster';

export { stackEnv, envAsShell } from './stack/env';
export { stackDown, stackStatus, stackUp } from './stack/lifecycle';
export type { ComponentStatus, UpOptions, UpResult } from './stack/lifecycle';
export { stackPaths, toolPaths } from './stack/paths';
export { cosignRegistryFlags, skopeoTlsFlags } from './stack/client-trust';
export { tlsFiles } from './stack/tls';
export { ports, registries, searchAttributes } from './stack/topology';
export { KEYLESS_IDENTITY, sigstoreFiles, sigstoreUrls } from './stack/sigstore';
export { clusterEnv, clusterSettings, clusterUnavailable, ensureCluster } from './stack/temporal-cluster';
export { clusterPaths, clusterPorts } from './stack/cluster-topology';

/** After `env --cluster`, `env` must point the shell back at the dev server: no client certificate left set. */
const unsetClusterEnv = () =>
  `unset ${Object.keys(clusterEnv())
    .filter((n) => n.startsWith('TEMPORAL_TLS_'))
    .join(' ')}`;

const usage = 'usage: npm run stack -- up [--cluster] | down | env [--cluster] | status';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const cluster = rest[0] === '--cluster' && (command === 'up' || command === 'env' || command === 'status');
  if (rest.length > (cluster ? 1 : 0)) {
    console.error(usage);
    return 2;
  }
  switch (command) {
    case 'up': {
      if (cluster) {
        const unavailable = clusterUnavailable();
        if (unavailable) {
          console.error(`cannot start the Temporal cluster: ${unavailable}`);
          return 1;
        }
      }
      const result = await stackUp({ log: (line) => console.log(line), cluster });
      const what = result.started.length > 0 ? `started ${result.started.join(', ')}` : 'already running';
      console.log(`stack up (${what}) in ${(result.durationMs / 1000).toFixed(1)}s; logs in ${stackPaths.logs}`);
      console.log(`load the environment with: eval "$(npm run -s stack -- env${cluster ? ' --cluster' : ''})"`);
      return 0;
    }
    case 'down': {
      const stopped = await stackDown();
      console.log(stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'stack was not running');
      return 0;
    }
    case 'env':
      console.log(cluster ? envAsShell({ ...stackEnv(), ...clusterEnv() }) : `${envAsShell(stackEnv())}\n${unsetClusterEnv()}`);
      return 0;
    case 'status': {
      const statuses = await stackStatus({ cluster });
      for (const s of statuses) {
        const pid = s.pid !== undefined ? ` pid ${s.pid}` : '';
        console.log(`${s.name.padEnd(20)} ${s.state.padEnd(10)} ${s.ports.map((p) => `127.0.0.1:${p}`).join(' ')}${pid}`);
      }
      const tools = toolPaths();
      for (const tool of ['cosign', 'regsync'] as const) {
        console.log(`${tool.padEnd(20)} ${tools[tool] ? `present    ${tools[tool]}` : 'missing    (bash scripts/setup.sh)'}`);
      }
      return statuses.every((s) => s.state === 'up') ? 0 : 1;
    }
    default:
      console.error(usage);
      return 2;
  }
}

const invokedDirectly = process.argv[1] !== undefined && /scripts[\\/]dev[\\/]stack(\.ts)?$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
