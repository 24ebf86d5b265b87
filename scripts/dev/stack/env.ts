// The environment a client of the dev stack needs: endpoints, credentials location, keys.
import { secretFiles } from './credentials';
import { stackPaths, toolPaths } from './paths';
import { sigstoreEnv } from './sigstore';
import { HOST, S3_ACCESS_KEY, S3_BUCKET, S3_REGION, S3_SECRET_KEY, ports } from './topology';

/** Environment variables describing the dev stack (pure: computed from paths, no process is contacted). */
export function stackEnv(): Record<string, string> {
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: `${HOST}:${ports.temporal}`,
    PROMOTER_TEMPORAL_UI: `http://${HOST}:${ports.temporalUi}`,
    PROMOTER_STAGING_REGISTRY: `${HOST}:${ports.staging}`,
    PROMOTER_PRODUCTION_REGISTRY: `${HOST}:${ports.production}`,
    PROMOTER_MIRROR_REGISTRIES: `${HOST}:${ports.mirrorA},${HOST}:${ports.mirrorB}`,
    // Every registry of the stack, the benchmarks' and the tests' own is on loopback, which a worker
    // speaks to only when named: any port of both loopback names (the token realm is localhost).
    PROMOTER_ALLOWED_REGISTRIES: `${HOST}:*,localhost:*`,
    PROMOTER_S3_ENDPOINT: `http://${HOST}:${ports.s3}`,
    PROMOTER_S3_BUCKET: S3_BUCKET,
    AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
    AWS_REGION: S3_REGION,
    DOCKER_CONFIG: stackPaths.docker,
    // The stack CA for production, mirror-b and the token server, in the containers/Docker certs.d layout.
    PROMOTER_REGISTRY_CERTS_DIR: stackPaths.certsDir,
    PROMOTER_SIGNING_KEY: stackPaths.signingKey,
    PROMOTER_PUBLIC_KEY: stackPaths.publicKey,
    PROMOTER_AUDIT_WEBHOOK_SECRET_FILE: secretFiles.auditWebhook,
    ...sigstoreEnv(),
  };
  const cosign = toolPaths().cosign;
  if (cosign) env.PROMOTER_COSIGN = cosign;
  return env;
}

/** Single-quoted for POSIX shells. */
const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export function envAsShell(env: Record<string, string> = stackEnv()): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${/^[\w@%+=:,./-]+$/.test(value) ? value : shellQuote(value)}`)
    .join('\n');
}
