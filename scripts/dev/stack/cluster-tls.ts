// TLS material of the Temporal cluster, from the stack's CA (.stack/tls/ca.crt), made on the first
// `up --cluster` and renewed when close to expiry:
//   temporal-frontend.crt/.key       the frontend's server certificate (127.0.0.1, localhost)
//   temporal-system-worker.crt/.key  the server's own worker service, a client of the frontend
//   temporal-client.crt/.key         the promoter's worker and CLI (TEMPORAL_TLS_CLIENT_CERT_PATH)
//   temporal-gate-client.crt/.key    the API-key gate, which dials the frontend with mTLS too
// The frontend accepts a client certificate only when the stack CA signed it.
import { join } from 'node:path';
import { stackPaths } from './paths';
import { certificateUsable, ensureTlsMaterial, issueServerCertificate, tlsFiles } from './tls';

const pair = (name: string) => ({ cert: join(stackPaths.tls, `${name}.crt`), key: join(stackPaths.tls, `${name}.key`) });

export const clusterTlsFiles = {
  ca: tlsFiles.caCert,
  frontend: pair('temporal-frontend'),
  systemWorker: pair('temporal-system-worker'),
  client: pair('temporal-client'),
  gateClient: pair('temporal-gate-client'),
} as const;

const clientCertificates = [
  [clusterTlsFiles.systemWorker, 'temporal-system-worker'],
  [clusterTlsFiles.client, 'promoter-worker'],
  [clusterTlsFiles.gateClient, 'promoter-api-key-gate'],
] as const;

/** Idempotent: keeps every certificate still valid for 30 days and signed by the current CA. */
export function ensureClusterTls(): void {
  ensureTlsMaterial();
  const issue = (p: { cert: string; key: string }, hosts: string[], extendedKeyUsage: 'serverAuth' | 'clientAuth') => {
    if (certificateUsable(p.cert, tlsFiles.caCert, 30)) return;
    issueServerCertificate({ caKey: tlsFiles.caKey, caCert: tlsFiles.caCert, keyOut: p.key, certOut: p.cert, hosts, extendedKeyUsage });
  };
  issue(clusterTlsFiles.frontend, ['localhost', '127.0.0.1'], 'serverAuth');
  for (const [p, name] of clientCertificates) issue(p, [name], 'clientAuth');
}
