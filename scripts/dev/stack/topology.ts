// Fixed loopback ports and names of the dev stack (the contract in the design notes).
export const HOST = '127.0.0.1';
export const STACK_USER = 'promoter';

export const ports = {
  temporal: 7233,
  temporalUi: 8233,
  staging: 5001,
  production: 5002,
  mirrorA: 5003,
  mirrorB: 5004,
  tokenServer: 5005,
  s3: 9000,
  /** Reserved for the worker's Prometheus metrics endpoint. */
  workerMetrics: 9464,
} as const;

/** Where production's push notifications go: `promoter audit-receiver` listens here when someone runs it (not a stack process). */
export const AUDIT_RECEIVER_PORT = 5010;

export const TOKEN_SERVICE = 'promoter-dev';
export const TOKEN_ISSUER = 'promoter-dev-token-issuer';
// A host name, not 127.0.0.1: cosign's registry library (go-containerregistry) refuses a token
// realm written as a private or loopback IP address, but follows one given by name.
// HTTPS like a real token service; its certificate comes from the stack's CA.
export const TOKEN_REALM = `https://localhost:${ports.tokenServer}/token`;
export const S3_BUCKET = 'promoter-audit';
export const S3_REGION = 'us-east-1';
export const S3_ACCESS_KEY = 'test';
export const S3_SECRET_KEY = 'test';
export const TEMPORAL_NAMESPACE = 'default';

/** Search attributes registered when the Temporal dev server starts: the ones the workflows set. */
export { SEARCH_ATTRIBUTES as searchAttributes } from '../../../workflows/search-attributes';

export type RegistryName = 'staging' | 'production' | 'mirror-a' | 'mirror-b';
type RegistryAuth = 'none' | 'htpasswd' | 'token';
/** distribution 2.8 (referrers by the `sha256-<hex>` tag fallback) or olareg (the OCI 1.1 referrers API). */
type RegistryServer = 'distribution' | 'olareg';

export interface RegistryTopology {
  name: RegistryName;
  port: number;
  auth: RegistryAuth;
  server: RegistryServer;
  /** Served over HTTPS with a certificate from the stack's CA (else plain HTTP on loopback). */
  tls: boolean;
}

export const registries: ReadonlyArray<RegistryTopology> = [
  { name: 'staging', port: ports.staging, auth: 'none', server: 'distribution', tls: false },
  { name: 'production', port: ports.production, auth: 'htpasswd', server: 'distribution', tls: true },
  { name: 'mirror-a', port: ports.mirrorA, auth: 'none', server: 'olareg', tls: false },
  { name: 'mirror-b', port: ports.mirrorB, auth: 'token', server: 'distribution', tls: true },
];

/** host:port of every service the stack serves over HTTPS (each gets a certs.d entry). */
export const tlsHosts: readonly string[] = [
  ...registries.filter((r) => r.tls).map((r) => `${HOST}:${r.port}`),
  `localhost:${ports.tokenServer}`,
  `${HOST}:${ports.tokenServer}`,
];
