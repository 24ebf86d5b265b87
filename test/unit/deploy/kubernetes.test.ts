// deploy/kubernetes renders (kustomize, as `kubectl apply -k` would) and sets nothing the worker
// does not read: every environment variable is one of the config schema's (lib/config.ts) or a
// Temporal connection variable (@temporalio/envconfig) or the AWS SDK's; every path it names is
// mounted; secrets come from Secrets and projected tokens, never as literals.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig, WORKER_ENV_VARIABLES } from '../../../lib/config';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { LONG, QUICK } from '../../../workflows/activity-options';
import { SHUTDOWN_FORCE_MARGIN_MS } from '../../../worker/shutdown';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** kustomize from setup (.tools/bin), else kubectl's built-in one. */
function render(dir: string): Record<string, any>[] {
  const kustomize = `${ROOT}.tools/bin/kustomize`;
  const out = existsSync(kustomize)
    ? execFileSync(kustomize, ['build', `${ROOT}${dir}`], { encoding: 'utf8' })
    : execFileSync('kubectl', ['kustomize', `${ROOT}${dir}`], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJSON() as Record<string, any>);
}

/** The connection variables @temporalio/envconfig reads, from its own code. */
function temporalVariables(): Set<string> {
  const dir = dirname(createRequire(import.meta.url).resolve('@temporalio/envconfig'));
  const code = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  return new Set([...code.matchAll(/['"](TEMPORAL_[A-Z_]+[A-Z])['"]/g)].map((m) => m[1]!));
}

// The AWS SDK's default credential chain (environment, web identity).
const AWS_CHAIN = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_PROFILE']);
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE)/;

function check(dir: string) {
  const docs = render(dir);
  const kinds = docs.map((d) => d.kind);
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const pod = deployment.spec.template.spec;
  const worker = pod.containers.find((c: { name: string }) => c.name === 'worker');
  const env = new Map<string, { value?: string; valueFrom?: any }>(worker.env.map((e: any) => [e.name, e]));
  const literal = Object.fromEntries([...env].filter(([, e]) => e.value !== undefined).map(([k, e]) => [k, e.value!]));
  return { docs, kinds, deployment, pod, worker, env, literal };
}

function mountedAt(worker: any, path: string): any {
  return worker.volumeMounts.find((m: any) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
}

describe.each(['deploy/kubernetes/base', 'deploy/kubernetes/overlays/temporal-cloud'])('%s', (dir) => {
  const r = check(dir);
  const known = new Set([...WORKER_ENV_VARIABLES, ...temporalVariables(), ...AWS_CHAIN]);

  it('renders a worker Deployment, its ServiceAccount and a PodDisruptionBudget, and no Secret', () => {
    expect(r.kinds.sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'ServiceAccount']);
    expect(r.deployment.spec.replicas).toBe(2);
    const pdb = r.docs.find((d) => d.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(r.deployment.spec.selector.matchLabels);
    expect(r.deployment.spec.template.metadata.labels).toMatchObject(r.deployment.spec.selector.matchLabels);
  });

  it('sets only variables the worker reads, with values its config schema accepts', () => {
    const unknown = [...r.env.keys()].filter((k) => !known.has(k));
    expect(unknown).toEqual([]);
    const config = loadConfig(r.literal);
    expect(config.deployment.versioning).toBe(true);
    expect(config.signing.mode).toBe('keyless');
    expect(config.metricsAddress).toBe('0.0.0.0:9464');
    expect(config.signing.keyless.tokenSource).toBe(`file:${r.literal.PROMOTER_IDENTITY_TOKEN_FILE}`);
  });

  it('has no secret as a literal: Secrets by reference, the signing identity a projected token', () => {
    for (const [name, e] of r.env) {
      if (SECRET_NAME.test(name) && !/_(FILE|PATH)$/.test(name)) expect(e.valueFrom?.secretKeyRef, `${name} from a Secret`).toBeDefined();
    }
    const rendered = JSON.stringify(r.docs);
    expect(rendered).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|"auths"|eyJ[A-Za-z0-9_-]{20,}/);
    const token = r.pod.volumes.find((v: any) => v.projected)?.projected.sources[0].serviceAccountToken;
    expect(token).toMatchObject({ audience: 'sigstore', path: 'token' });
    expect(r.pod.automountServiceAccountToken).toBe(false);
  });

  it('mounts every file the variables name, from the Secret or ConfigMap that holds it', () => {
    const paths = Object.entries(r.literal).filter(([k]) => /(_PATH|_FILE|_CONFIG|_DIR|TRUSTED_ROOT)$/.test(k) && k !== 'PROMOTER_DEPLOYMENT_NAME');
    expect(paths.length).toBeGreaterThan(3);
    for (const [name, path] of paths) expect(mountedAt(r.worker, path), `${name}=${path} is mounted`).toBeDefined();
    const volume = (path: string) => r.pod.volumes.find((v: any) => v.name === mountedAt(r.worker, path).name);
    // Registry credentials: a Docker config Secret, seen as DOCKER_CONFIG/config.json.
    expect(volume(r.literal.DOCKER_CONFIG!).secret.items).toEqual([{ key: '.dockerconfigjson', path: 'config.json' }]);
    expect(volume(r.literal.PROMOTER_REGISTRY_CERTS_DIR!).configMap.name).toBe('promoter-registry-certs');
    expect(volume(r.literal.PROMOTER_IDENTITY_TOKEN_FILE!).projected).toBeDefined();
    if (r.literal.TEMPORAL_TLS_CLIENT_CERT_PATH) expect(volume(r.literal.TEMPORAL_TLS_CLIENT_CERT_PATH).secret.secretName).toBe('promoter-temporal-tls');
    else expect(r.env.get('TEMPORAL_API_KEY')?.valueFrom?.secretKeyRef?.name).toBe('promoter-temporal-cloud');
  });

  it('runs unprivileged on a read-only root, scraped at the metrics port, and outlives its graceful shutdown', () => {
    expect(r.pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(r.worker.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const annotations = r.deployment.spec.template.metadata.annotations;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe(r.literal.PROMOTER_METRICS_ADDRESS!.split(':')[1]);
    expect(r.worker.ports).toContainEqual({ name: 'metrics', containerPort: Number(annotations['prometheus.io/port']) });
    const graceMs = r.pod.terminationGracePeriodSeconds * 1000;
    expect(graceMs).toBeGreaterThan(msToNumber(LONG.heartbeatTimeout));
    expect(graceMs).toBeGreaterThan(msToNumber(QUICK.heartbeatTimeout));
    expect(graceMs).toBeGreaterThan(msToNumber(r.literal.PROMOTER_SHUTDOWN_GRACE_TIME) + SHUTDOWN_FORCE_MARGIN_MS);
    // Room for the measured peak of a full-corpus promotion (about 1 GiB).
    expect(r.worker.resources.limits.memory).toBe('1536Mi');
  });
});
