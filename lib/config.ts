import { z } from 'zod';
import { parseAllowedRegistries } from './oci/allowed-hosts';
import { OCI_DEFAULTS } from './oci/defaults';
import { auditStoreConfigFromEnv, type AuditStoreConfig } from './storage/audit-store';

/**
 * Worker configuration, from the environment only. Secrets (registry credentials, the signing
 * key and its password) are read here, inside the worker, and never travel in workflow inputs.
 */
const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;
/** A variable set to "" counts as not set. */
const unsetWhenEmpty = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === '' ? undefined : v), t);

const EnvSchema = z.object({
  // Where Temporal is and how to reach it (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key,
  // profiles) is read by worker/connection.ts, like any Temporal application does.
  PROMOTER_TASK_QUEUE: z.string().default('promoter'),
  PROMOTER_TEMPORAL_UI: z.string().default('http://127.0.0.1:8233'),
  PROMOTER_INSECURE_REGISTRIES: z.string().default(''),
  // Host globs the worker may speak to (registries, their token realms and redirect targets);
  // unset: any host but loopback, link-local and cloud-metadata addresses (lib/oci/allowed-hosts.ts).
  PROMOTER_ALLOWED_REGISTRIES: z
    .string()
    .default('')
    .refine((v) => {
      try {
        parseAllowedRegistries(v);
        return true;
      } catch {
        return false;
      }
    }, 'comma-separated host globs (host[:port], "*" as a wildcard, IPv6 in brackets)'),
  // The longest Retry-After honoured, in seconds (a host is paused at most this long).
  PROMOTER_MAX_RETRY_AFTER: z.coerce
    .number()
    .positive()
    .default(OCI_DEFAULTS.retry.maxRetryAfterMs / 1000),
  PROMOTER_SIGNING_KEY: z.string().optional(),
  PROMOTER_SIGNING_KEY_PASSWORD: z.string().optional(),
  PROMOTER_PUBLIC_KEY: z.string().optional(),
  PROMOTER_TRUSTED_ROOT: z.string().optional(),
  PROMOTER_SIGNATURE_FORMAT: z.enum(['legacy', 'bundle', 'both']).default('both'),
  // key: the worker's key (PROMOTER_SIGNING_KEY), offline. keyless: a Fulcio certificate for the
  // worker's OIDC identity, logged in Rekor and timestamped (Sigstore URLs or a signing config).
  PROMOTER_SIGNING_MODE: z.enum(['key', 'keyless']).default('key'),
  PROMOTER_SIGNING_CONFIG: z.string().optional(),
  PROMOTER_FULCIO_URL: z.string().optional(),
  PROMOTER_REKOR_URL: z.string().optional(),
  PROMOTER_TSA_URL: z.string().optional(),
  // Where the identity token comes from: a file something else refreshes (projected service-account
  // tokens), or the name of an environment variable holding it.
  PROMOTER_IDENTITY_TOKEN_FILE: z.string().optional(),
  PROMOTER_IDENTITY_TOKEN_ENV: z.string().optional(),
  PROMOTER_BUILDER_ID: z.string().default('https://github.com/promoter/promoter/worker@v1'),
  // Per registry host (see OCI_DEFAULTS for why these numbers).
  PROMOTER_REGISTRY_RPS: z.coerce.number().positive().default(OCI_DEFAULTS.hostLimits.requestsPerSecond),
  PROMOTER_REGISTRY_BURST: z.coerce.number().positive().default(OCI_DEFAULTS.hostLimits.burst),
  PROMOTER_REGISTRY_CONCURRENCY: z.coerce.number().int().positive().default(OCI_DEFAULTS.hostLimits.concurrency),
  // Prometheus scrape endpoint of the worker (the Temporal SDK's metrics and the promoter's); "" or "off": none.
  PROMOTER_METRICS_ADDRESS: z.string().default('127.0.0.1:9464'),
  PROMOTER_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  // Worker Deployments: a versioned worker takes only the tasks of its deployment version (promotion
  // runs pinned to the version they started on); off, it takes every task on its queue.
  PROMOTER_WORKER_VERSIONING: z.enum(['on', 'off']).default('off'),
  PROMOTER_DEPLOYMENT_NAME: z.string().optional(),
  PROMOTER_BUILD_ID: z.string().optional(),
  // SIGTERM: activities get this long to finish, then checkpoint and hand over (worker/shutdown.ts).
  PROMOTER_SHUTDOWN_GRACE_TIME: z.string().regex(DURATION, 'a duration such as 30s, 500ms or 2m').default('10s'),
  // Tracing is on when an OTLP/HTTP endpoint is set (the OpenTelemetry SDK reads OTEL_EXPORTER_OTLP_HEADERS and the like itself).
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenEmpty(z.url({ protocol: /^https?$/ }).optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetWhenEmpty(z.url({ protocol: /^https?$/ }).optional()),
  OTEL_SERVICE_NAME: z.string().default('promoter-worker'),
});

/**
 * Every environment variable the worker reads: the schema above, and those that lib/storage
 * (S3) and lib/oci (registry credentials and TLS) read themselves. The AWS SDK's credential chain
 * (AWS_ACCESS_KEY_ID, AWS_WEB_IDENTITY_TOKEN_FILE, ...) and Temporal's connection variables
 * (TEMPORAL_*) come on top.
 */
export const WORKER_ENV_VARIABLES: readonly string[] = [
  ...Object.keys(EnvSchema.shape),
  'PROMOTER_S3_BUCKET',
  'PROMOTER_S3_ENDPOINT',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'DOCKER_CONFIG',
  'PROMOTER_REGISTRY_CERTS_DIR',
];

export interface PromoterConfig {
  temporal: { taskQueue: string; uiUrl: string };
  store: AuditStoreConfig;
  insecureRegistries: string[];
  /** Host globs the worker may speak to; empty: the default (any host but loopback, link-local and cloud metadata). */
  allowedRegistries: string[];
  /** The longest Retry-After honoured, in ms. */
  maxRetryAfterMs: number;
  signing: {
    keyPath?: string;
    /** Secret: stays in the worker's memory, never logged or passed on. */
    keyPassword?: string;
    publicKeyPath?: string;
    trustedRootPath?: string;
    format: 'legacy' | 'bundle' | 'both';
    builderId: string;
    mode: 'key' | 'keyless';
    keyless: {
      signingConfigPath?: string;
      fulcioURL?: string;
      rekorURL?: string;
      tsaURL?: string;
      /** `file:PATH` or `env:NAME`: where the identity token is read from, afresh for each signing. */
      tokenSource?: string;
    };
  };
  limits: { requestsPerSecond: number; burst: number; concurrency: number };
  /** host:port of the Prometheus endpoint, or undefined for none. */
  metricsAddress?: string;
  logLevel: string;
  deployment: { versioning: boolean; name?: string; buildId?: string };
  /** How long activities may run on after SIGTERM before they checkpoint and hand over. */
  shutdownGraceTime: string;
  /** OTLP/HTTP traces: on when an endpoint is set. */
  tracing: { endpoint?: string; serviceName: string };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PromoterConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${issues}`);
  }
  const e = parsed.data;
  return {
    temporal: { taskQueue: e.PROMOTER_TASK_QUEUE, uiUrl: e.PROMOTER_TEMPORAL_UI },
    store: auditStoreConfigFromEnv(env),
    insecureRegistries: e.PROMOTER_INSECURE_REGISTRIES.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    allowedRegistries: parseAllowedRegistries(e.PROMOTER_ALLOWED_REGISTRIES),
    maxRetryAfterMs: Math.round(e.PROMOTER_MAX_RETRY_AFTER * 1000),
    signing: {
      keyPath: e.PROMOTER_SIGNING_KEY,
      keyPassword: e.PROMOTER_SIGNING_KEY_PASSWORD,
      publicKeyPath: e.PROMOTER_PUBLIC_KEY,
      trustedRootPath: e.PROMOTER_TRUSTED_ROOT,
      format: e.PROMOTER_SIGNATURE_FORMAT,
      builderId: e.PROMOTER_BUILDER_ID,
      mode: e.PROMOTER_SIGNING_MODE,
      keyless: {
        signingConfigPath: e.PROMOTER_SIGNING_CONFIG,
        fulcioURL: e.PROMOTER_FULCIO_URL,
        rekorURL: e.PROMOTER_REKOR_URL,
        tsaURL: e.PROMOTER_TSA_URL,
        tokenSource: e.PROMOTER_IDENTITY_TOKEN_ENV
          ? `env:${e.PROMOTER_IDENTITY_TOKEN_ENV}`
          : e.PROMOTER_IDENTITY_TOKEN_FILE
            ? `file:${e.PROMOTER_IDENTITY_TOKEN_FILE}`
            : undefined,
      },
    },
    limits: { requestsPerSecond: e.PROMOTER_REGISTRY_RPS, burst: e.PROMOTER_REGISTRY_BURST, concurrency: e.PROMOTER_REGISTRY_CONCURRENCY },
    ...(e.PROMOTER_METRICS_ADDRESS && e.PROMOTER_METRICS_ADDRESS !== 'off' ? { metricsAddress: e.PROMOTER_METRICS_ADDRESS } : {}),
    logLevel: e.PROMOTER_LOG_LEVEL,
    deployment: { versioning: e.PROMOTER_WORKER_VERSIONING === 'on', name: e.PROMOTER_DEPLOYMENT_NAME, buildId: e.PROMOTER_BUILD_ID },
    shutdownGraceTime: e.PROMOTER_SHUTDOWN_GRACE_TIME,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
  };
}

/** The UI link of a workflow, for humans. */
export function workflowUrl(config: PromoterConfig, namespace: string, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
