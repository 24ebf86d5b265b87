// The cluster's API-key gate: Debian's nginx on 127.0.0.1:7253 (TLS with the stack's server
// certificate), letting through only gRPC requests that carry `authorization: Bearer <key>`, the
// header the Temporal SDKs send for TEMPORAL_API_KEY, as Temporal Cloud checks it. Others get the
// gRPC status UNAUTHENTICATED. Accepted requests go on to the frontend over mTLS with the gate's own
// client certificate. The key lives only in .stack/secrets (a map file nginx includes), never in
// the config or a log.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from './components';
import { clusterTlsFiles } from './cluster-tls';
import { clusterPaths, clusterPorts } from './cluster-topology';
import { randomPassword, secretOnce } from './credentials';
import { onPath, stackPaths } from './paths';
import { portOpen } from './probes';
import { tlsFiles } from './tls';
import { HOST } from './topology';

export const clusterApiKey = () => secretOnce(clusterPaths.apiKey, randomPassword);
const keyMap = join(stackPaths.secrets, 'temporal-cluster-api-key.map');

export const nginxBinary = (): string | undefined => onPath('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);

function gateConfig(): string {
  const rt = clusterPaths.nginxRuntime;
  return `# Written by npm run stack -- up --cluster (scripts/dev/stack/api-key-gate.ts).
daemon off;
worker_processes 1;
pid ${join(rt, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${join(rt, 'body')};
  proxy_temp_path ${join(rt, 'proxy')};
  fastcgi_temp_path ${join(rt, 'fastcgi')};
  uwsgi_temp_path ${join(rt, 'uwsgi')};
  scgi_temp_path ${join(rt, 'scgi')};
  # Long polls hold a request about a minute; payloads go up to the server's 4 MB.
  grpc_read_timeout 300s;
  grpc_send_timeout 300s;
  client_body_timeout 300s;
  client_max_body_size 16m;
  map $http_authorization $api_key_ok {
    default 0;
    include ${keyMap};
  }
  server {
    listen ${HOST}:${clusterPorts.apiKeyGate} ssl http2;
    ssl_certificate ${tlsFiles.serverCert};
    ssl_certificate_key ${tlsFiles.serverKey};
    location / {
      error_page 418 = @unauthenticated;
      if ($api_key_ok = 0) { return 418; }
      grpc_pass grpcs://${HOST}:${clusterPorts.frontend};
      grpc_ssl_certificate ${clusterTlsFiles.gateClient.cert};
      grpc_ssl_certificate_key ${clusterTlsFiles.gateClient.key};
      grpc_ssl_trusted_certificate ${clusterTlsFiles.ca};
      grpc_ssl_verify on;
      grpc_ssl_name localhost;
    }
    # A gRPC answer (trailers only), not an HTML page: clients report UNAUTHENTICATED.
    location @unauthenticated {
      default_type application/grpc;
      add_header grpc-status 16 always;
      add_header grpc-message "invalid%20API%20key" always;
      return 200;
    }
  }
}
`;
}

/** The config, the runtime folders and the key map; rewritten only when they change. */
function ensureGateConfig(): void {
  mkdirSync(clusterPaths.nginxRuntime, { recursive: true });
  const map = `"Bearer ${clusterApiKey()}" 1;\n`;
  if (!existsSync(keyMap) || readFileSync(keyMap, 'utf8') !== map) writeFileSync(keyMap, map, { mode: 0o600 });
  const config = gateConfig();
  if (!existsSync(clusterPaths.nginxConfig) || readFileSync(clusterPaths.nginxConfig, 'utf8') !== config) writeFileSync(clusterPaths.nginxConfig, config);
}

export const apiKeyGate: Component = {
  name: 'temporal-api-key-gate',
  ports: [clusterPorts.apiKeyGate],
  startTimeoutMs: 20_000,
  spec() {
    ensureGateConfig();
    const nginx = nginxBinary();
    if (!nginx) throw new Error('nginx not found; run: bash scripts/setup/temporal-cluster.sh');
    return { name: 'temporal-api-key-gate', command: nginx, args: ['-c', clusterPaths.nginxConfig, '-p', clusterPaths.nginxRuntime, '-e', 'stderr'] };
  },
  ready: () => portOpen(HOST, clusterPorts.apiKeyGate),
};
