// Typed view of the dev stack for tests: endpoints, credentials location, keys and tools.
// Reads the variables test/global-setup.ts exported, falling back to the stack's own defaults
// so a test file also works when run outside vitest's global setup.
import { randomBytes } from 'node:crypto';
import { stackEnv } from '../../scripts/dev/stack';

interface StackRegistries {
  staging: string;
  production: string;
  mirrors: string[];
  /** Every registry, keyed by its role name. */
  all: { staging: string; production: string; mirrorA: string; mirrorB: string };
}

export interface StackEndpoints {
  registries: StackRegistries;
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  temporal: { address: string; namespace: string; ui: string };
  /** Folder holding config.json with `auths` for the registries that need credentials (DOCKER_CONFIG). */
  dockerConfigDir: string;
  dockerConfigFile: string;
  /** certs.d folder with the stack CA for each HTTPS host (PROMOTER_REGISTRY_CERTS_DIR). */
  registryCertsDir: string;
  signingKeyPath: string;
  publicKeyPath: string;
  /** Absolute path of cosign, or undefined when it is not installed. */
  cosignPath: string | undefined;
  /** The host globs a worker on the stack may speak to (PROMOTER_ALLOWED_REGISTRIES). */
  allowedRegistries: string[];
}

export function stack(): StackEndpoints {
  const defaults = stackEnv();
  const get = (name: string): string => {
    const value = process.env[name] ?? defaults[name];
    if (value === undefined) throw new Error(`${name} is not set (is the dev stack configured?)`);
    return value;
  };
  const mirrors = get('PROMOTER_MIRROR_REGISTRIES')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const [mirrorA, mirrorB] = mirrors;
  if (!mirrorA || !mirrorB) throw new Error('PROMOTER_MIRROR_REGISTRIES needs two registries');
  const dockerConfigDir = get('DOCKER_CONFIG');
  return {
    registries: {
      staging: get('PROMOTER_STAGING_REGISTRY'),
      production: get('PROMOTER_PRODUCTION_REGISTRY'),
      mirrors,
      all: { staging: get('PROMOTER_STAGING_REGISTRY'), production: get('PROMOTER_PRODUCTION_REGISTRY'), mirrorA, mirrorB },
    },
    s3: {
      endpoint: get('PROMOTER_S3_ENDPOINT'),
      bucket: get('PROMOTER_S3_BUCKET'),
      region: get('AWS_REGION'),
      accessKeyId: get('AWS_ACCESS_KEY_ID'),
      secretAccessKey: get('AWS_SECRET_ACCESS_KEY'),
    },
    temporal: { address: get('TEMPORAL_ADDRESS'), namespace: 'default', ui: get('PROMOTER_TEMPORAL_UI') },
    dockerConfigDir,
    dockerConfigFile: `${dockerConfigDir}/config.json`,
    registryCertsDir: get('PROMOTER_REGISTRY_CERTS_DIR'),
    signingKeyPath: get('PROMOTER_SIGNING_KEY'),
    publicKeyPath: get('PROMOTER_PUBLIC_KEY'),
    cosignPath: process.env.PROMOTER_COSIGN ?? defaults.PROMOTER_COSIGN,
    allowedRegistries: get('PROMOTER_ALLOWED_REGISTRIES')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean),
  };
}

/**
 * A repository name no other test (or earlier run) uses: `<prefix>-<time>-<random>`, lower case,
 * valid per the distribution name grammar. Prefixes may contain slashes (`team/app`).
 */
export function uniqueName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9/._-]+/g, '-')
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'test';
  return `${clean}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
