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
} as const;

export const TOKEN_SERVICE = 'promoter-dev';
export const TOKEN_ISSUER = 'promoter-dev-token-issuer';
// A host name, not 127.0.0.1: cosign's registry library (go-containerregistry) refuses a token
// realm written as a private or loopback IP address, but follows one given by name.
export const TOKEN_REALM = `http://localhost:${ports.tokenServer}/token`;
export const S3_BUCKET = 'promoter-audit';
export const S3_REGION = 'us-east-1';
export const S3_ACCESS_KEY = 'test';
export const S3_SECRET_KEY = 'test';
export const TEMPORAL_NAMESPACE = 'default';

/** Search attributes registered when the Temporal dev server starts: the ones the workflows set. */
export { SEARCH_ATTRIBUTES as searchAttributes } from '../../workflows/search-attributes';

export type RegistryName = 'staging' | 'production' | 'mirror-a' | 'mirror-b';
export type RegistryAuth = 'none' | 'htpasswd' | 'token';

export const registries: ReadonlyArray<{ name: RegistryName; port: number; auth: RegistryAuth }> = [
  { name: 'staging', port: ports.staging, auth: 'none' },
  { name: 'production', port: ports.production, auth: 'htpasswd' },
  { name: 'mirror-a', port: ports.mirrorA, auth: 'none' },
  { name: 'mirror-b', port: ports.mirrorB, auth: 'token' },
];
