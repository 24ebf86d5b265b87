// Supply-chain fixtures made by the real cosign CLI (key pairs, signatures in both formats, SLSA
// provenance), manifests with policy blocks, and an independent signature counter: it reads the
// registry and checks signatures with node:crypto, not with the promoter's own verifier.
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOciError, RegistryClient } from '../../lib/oci';
import { pushRandomImage } from '../../scripts/dev/seed-images';
import type { RunReport } from '../../lib/run/report';
import { parseJsonOutput, runCli } from './cli';
import { COSIGN_OFFLINE, runCosign, type CosignResult } from './cosign';
import { stack } from './stack-env';
import { writePlainManifest } from './plain-manifest';

const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const PROMOTION_PREDICATE = 'https://promoter.k8s.io/promotion/v1';
const SIG_ANNOTATION = 'dev.cosignproject.cosign/signature';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const BUNDLE_ARTIFACT = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export function registryClient(): RegistryClient {
  return RegistryClient.fromDockerConfig({ configPath: stack().dockerConfigFile });
}

export const cosignEnv = (password?: string): Record<string, string> => ({
  DOCKER_CONFIG: stack().dockerConfigDir,
  ...(password ? { COSIGN_PASSWORD: password } : {}),
});

function assertOk(r: CosignResult): CosignResult {
  if (r.code !== 0) throw new Error(`${r.command} exited ${r.code}:\n${r.stderr}`);
  return r;
}

// ---------------------------------------------------------------- cosign key pairs and fixtures

export interface CosignKeyPair {
  /** cosign's encrypted private key file. */
  key: string;
  /** PEM public key file. */
  pub: string;
  password: string;
}

/** `cosign generate-key-pair` into `dir` as `<name>.key` / `<name>.pub`. */
export async function cosignKeyPair(dir: string, name: string): Promise<CosignKeyPair> {
  const password = `pw-${name}`;
  assertOk(await runCosign(['generate-key-pair', '--output-key-prefix', join(dir, name)], cosignEnv(password)));
  return { key: join(dir, `${name}.key`), pub: join(dir, `${name}.pub`), password };
}

/** `cosign sign --key`: the v3 bundle referrer by default, the legacy `.sig` with `legacy`. */
export async function cosignSign(kp: CosignKeyPair, ref: string, opts: { legacy?: boolean } = {}): Promise<void> {
  const format = opts.legacy ? ['--new-bundle-format=false'] : [];
  assertOk(await runCosign(['sign', '--key', kp.key, ...format, ...COSIGN_OFFLINE.sign, ref], cosignEnv(kp.password)));
}

export interface ProvenanceFacts {
  builderId: string;
  /** Source URI, recorded as externalParameters.source and resolvedDependencies[0].uri. */
  source: string;
  /** Further resolved dependencies (libraries, base images), listed after the source. */
  dependencies?: string[];
}

/** A SLSA provenance v1 predicate as a builder writes it. */
export function slsaPredicate(f: ProvenanceFacts): unknown {
  return {
    buildDefinition: {
      buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
      externalParameters: { workflow: { ref: 'refs/heads/main', repository: f.source, path: '.github/workflows/release.yaml' }, source: f.source },
      resolvedDependencies: [
        { uri: f.source, digest: { gitCommit: 'c0ffee'.padEnd(40, '0') } },
        ...(f.dependencies ?? []).map((uri) => ({ uri, digest: { sha256: 'ab'.repeat(32) } })),
      ],
    },
    runDetails: { builder: { id: f.builderId }, metadata: { invocationId: 'https://ci.example/run/1' } },
  };
}

/** `cosign attest --type slsaprovenance1` (bundle referrer by default, legacy `.att` with `legacy`). */
export async function cosignAttestProvenance(
  kp: CosignKeyPair,
  ref: string,
  facts: ProvenanceFacts,
  dir: string,
  opts: { legacy?: boolean } = {},
): Promise<void> {
  const predicate = join(dir, `pred-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(predicate, JSON.stringify(slsaPredicate(facts)));
  const format = opts.legacy ? ['--new-bundle-format=false'] : [];
  assertOk(
    await runCosign(
      ['attest', '--key', kp.key, '--type', 'slsaprovenance1', '--predicate', predicate, ...format, ...COSIGN_OFFLINE.sign, ref],
      cosignEnv(kp.password),
    ),
  );
}

/** `cosign verify --key ... --insecure-ignore-tlog` (legacy `.sig` path only with `legacy`). */
export function cosignVerify(pub: string, ref: string, opts: { legacy?: boolean } = {}): Promise<CosignResult> {
  const format = opts.legacy ? ['--new-bundle-format=false'] : [];
  return runCosign(['verify', '--key', pub, ...format, ...COSIGN_OFFLINE.verify, ref], cosignEnv());
}

export function cosignVerifyAttestation(pub: string, ref: string, type: string): Promise<CosignResult> {
  return runCosign(['verify-attestation', '--key', pub, '--type', type, ...COSIGN_OFFLINE.verify, ref], cosignEnv());
}

// ---------------------------------------------------------------- staging images and manifests

export interface StagedImage {
  /** Image name in the manifest (repository below the prefix). */
  name: string;
  repository: string;
  digest: string;
  /** host/repository@digest at staging. */
  ref: string;
}

/** Small single-arch images at staging, one repository each under `prefix`. */
export async function seedImages(
  client: RegistryClient,
  prefix: string,
  names: string[],
  opts: { layerSize?: number; concurrency?: number } = {},
): Promise<Record<string, StagedImage>> {
  const host = stack().registries.staging;
  const out: Record<string, StagedImage> = {};
  const queue = [...names];
  const workers = Array.from({ length: opts.concurrency ?? 4 }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const repository = `${prefix}/${name}`;
      const img = await pushRandomImage(client, host, repository, { seed: repository, layers: 1, layerSize: opts.layerSize ?? 1024 });
      out[name] = { name, repository, digest: img.digest, ref: `${host}/${repository}@${img.digest}` };
    }
  });
  await Promise.all(workers);
  return out;
}

export interface ManifestSpec {
  prefix: string;
  /** Destination registry hosts; the first is the primary. */
  destinations: string[];
  images: { name: string; digest: string; tags?: string[] }[];
  /** YAML for the `signatures:` / `provenance:` blocks, indented at top level. */
  policy?: string;
  /** Files (e.g. public keys) copied next to the manifest, by their base name. */
  files?: Record<string, string>;
}

/** Writes a plain manifest (and its key files) into a fresh folder; returns the manifest path. */
export async function writeManifest(spec: ManifestSpec): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'promoter-sc-'));
  for (const [name, from] of Object.entries(spec.files ?? {})) await copyFile(from, join(dir, name));
  const staging = stack().registries.staging;
  return writePlainManifest(
    `${staging}/${spec.prefix}`,
    spec.destinations.map((d) => `${d}/${spec.prefix}`),
    spec.images,
    { dir, ...(spec.policy ? { policy: spec.policy } : {}) },
  );
}

export interface RunOutcome {
  code: number;
  report: RunReport;
}

/** `promoter run --manifest FILE [--confirm] --wait --json` on the given task queue. */
export async function promote(manifest: string, taskQueue: string, opts: { confirm?: boolean; timeoutMs?: number } = {}): Promise<RunOutcome> {
  const args = ['run', '--manifest', manifest, ...(opts.confirm === false ? [] : ['--confirm']), '--wait', '--json'];
  const r = await runCli(args, { PROMOTER_TASK_QUEUE: taskQueue }, opts.timeoutMs ?? 150_000);
  return { code: r.code, report: parseJsonOutput<RunReport>(r) };
}

type SignReport = RunReport['signatures'] & { manifestsSigned?: number };

/**
 * Whether the report counts `signed`/`alreadySigned` per image with `manifestsSigned` per manifest
 * (an index and each child), the current contract, or, as earlier reports did, per manifest.
 */
export const countsPerImage = (r: RunReport): boolean => (r.signatures as SignReport).manifestsSigned !== undefined;

/** Manifests signed by the run (an index and each of its children count), in either contract. */
export const manifestsSigned = (r: RunReport): number => (r.signatures as SignReport).manifestsSigned ?? r.signatures.signed;

// ---------------------------------------------------------------- reading signatures back

interface ManifestJson {
  mediaType?: string;
  artifactType?: string;
  config?: { mediaType: string; digest: string; size: number };
  layers?: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
  manifests?: { mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }[];
  subject?: { digest: string };
  annotations?: Record<string, string>;
}

export const tagOf = (digest: string, suffix = ''): string => `${digest.replace(':', '-')}${suffix}`;

export async function getManifestJson(
  client: RegistryClient,
  host: string,
  repository: string,
  ref: { tag?: string; digest?: string },
): Promise<{ json: ManifestJson; bytes: Buffer; digest: string; mediaType: string } | undefined> {
  try {
    const m = await client.getManifest({ host, repository, ...ref });
    const bytes = Buffer.from(m.bytes);
    return { json: JSON.parse(bytes.toString('utf8')) as ManifestJson, bytes, digest: m.digest, mediaType: m.mediaType };
  } catch (err) {
    if (isOciError(err, 'MANIFEST_UNKNOWN') || isOciError(err, 'NAME_UNKNOWN')) return undefined;
    throw err;
  }
}

/** DSSE pre-authentication encoding (what a DSSE signature signs). */
function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

function verifies(pubPem: string, data: Buffer, sigB64: string): boolean {
  try {
    return cryptoVerify('sha256', data, createPublicKey(pubPem), Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}

type ReferrerEntry = NonNullable<ManifestJson['manifests']>[number];

/**
 * The referrers of `digest` as the registry lists them: the OCI 1.1 referrers API where the registry
 * serves it (mirror-a, olareg), else the `sha256-<hex>` tag-schema fallback index (distribution).
 * Read with raw requests, not with the promoter's referrers code.
 */
export async function referrersOf(client: RegistryClient, host: string, repository: string, digest: string): Promise<ReferrerEntry[]> {
  const res = await client.transport.request({
    host,
    method: 'GET',
    path: `/v2/${repository}/referrers/${digest}`,
    headers: { Accept: OCI_INDEX },
    scopes: [`repository:${repository}:pull`],
    repository,
    operation: 'list referrers',
    accept: [404],
  });
  if (res.status === 200 && res.headers.get('content-type')?.startsWith(OCI_INDEX)) {
    return (JSON.parse(Buffer.from(res.body).toString('utf8')) as ManifestJson).manifests ?? [];
  }
  return (await getManifestJson(client, host, repository, { tag: tagOf(digest) }))?.json.manifests ?? [];
}

export interface SignatureCount {
  /** Layers of the `sha256-<hex>.sig` manifest (0 when absent). */
  sigLayers: number;
  /** Of those, layers whose signature verifies over their payload with `pub` and name the digest. */
  sigLayersByKey: number;
  /** Bundle referrers of the digest whose statement has the cosign sign predicate. */
  signBundles: number;
  /** Of those, bundles whose DSSE signature verifies with `pub` and whose subject is the digest. */
  signBundlesByKey: number;
  /** Bundle referrers of any predicate (signatures, provenance, promotion attestations). */
  allBundles: number;
}

/**
 * Counts the signatures of `host/repository@digest` in both cosign formats, verifying each with
 * node:crypto against `pubPem`. The referrers come from the referrers API or the tag-schema
 * fallback index, whichever the registry has (see referrersOf).
 */
export async function countSignatures(client: RegistryClient, host: string, repository: string, digest: string, pubPem: string): Promise<SignatureCount> {
  const count: SignatureCount = { sigLayers: 0, sigLayersByKey: 0, signBundles: 0, signBundlesByKey: 0, allBundles: 0 };
  const sig = await getManifestJson(client, host, repository, { tag: tagOf(digest, '.sig') });
  for (const layer of sig?.json.layers ?? []) {
    count.sigLayers++;
    if (layer.mediaType !== SIMPLE_SIGNING) continue;
    const payload = Buffer.from(await client.getBlob(host, repository, layer.digest));
    const claim = JSON.parse(payload.toString('utf8')) as { critical?: { image?: { 'docker-manifest-digest'?: string } } };
    if (claim.critical?.image?.['docker-manifest-digest'] !== digest) continue;
    if (verifies(pubPem, payload, layer.annotations?.[SIG_ANNOTATION] ?? '')) count.sigLayersByKey++;
  }
  for (const d of await referrersOf(client, host, repository, digest)) {
    if (d.artifactType !== BUNDLE_ARTIFACT) continue;
    const referrer = await getManifestJson(client, host, repository, { digest: d.digest });
    const layer = referrer?.json.layers?.[0];
    if (!layer) continue;
    count.allBundles++;
    const bundle = JSON.parse(Buffer.from(await client.getBlob(host, repository, layer.digest)).toString('utf8')) as {
      dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string }[] };
    };
    const env = bundle.dsseEnvelope;
    if (!env) continue;
    const payload = Buffer.from(env.payload, 'base64');
    const statement = JSON.parse(payload.toString('utf8')) as { predicateType?: string; subject?: { digest?: { sha256?: string } }[] };
    if (statement.predicateType !== COSIGN_SIGN_PREDICATE) continue;
    count.signBundles++;
    const namesDigest = statement.subject?.some((s) => `sha256:${s.digest?.sha256}` === digest) ?? false;
    if (namesDigest && env.signatures.some((s) => verifies(pubPem, pae(env.payloadType, payload), s.sig))) count.signBundlesByKey++;
  }
  return count;
}

// ---------------------------------------------------------------- forged and misplaced evidence

/**
 * Replaces the signature annotation of every layer of `digest`'s `.sig` manifest with
 * `signatureB64` (a well-formed ECDSA signature over some other payload), keeping the payload:
 * the manifest still looks signed, but no layer verifies.
 */
export async function tamperLegacySignature(client: RegistryClient, host: string, repository: string, digest: string, signatureB64: string): Promise<void> {
  const sig = await getManifestJson(client, host, repository, { tag: tagOf(digest, '.sig') });
  if (!sig) throw new Error(`no ${tagOf(digest, '.sig')} in ${host}/${repository}`);
  for (const layer of sig.json.layers ?? []) layer.annotations = { ...layer.annotations, [SIG_ANNOTATION]: signatureB64 };
  await client.putManifest({ host, repository, tag: tagOf(digest, '.sig') }, Buffer.from(JSON.stringify(sig.json)), sig.mediaType);
}

/** The signature annotation of the first `.sig` layer (a genuine signature, over another payload when reused). */
export async function legacySignatureOf(client: RegistryClient, host: string, repository: string, digest: string): Promise<string> {
  const sig = await getManifestJson(client, host, repository, { tag: tagOf(digest, '.sig') });
  const value = sig?.json.layers?.[0]?.annotations?.[SIG_ANNOTATION];
  if (!value) throw new Error(`no signature annotation on ${tagOf(digest, '.sig')} in ${host}/${repository}`);
  return value;
}

/**
 * Rewrites each cosign-sign bundle referrer of `digest`: the DSSE signature is replaced with
 * `signatureB64`, the new bundle blob and referrer manifest are pushed, and the fallback index
 * lists the forged referrer instead of the genuine one.
 */
export async function tamperBundleSignature(client: RegistryClient, host: string, repository: string, digest: string, signatureB64: string): Promise<number> {
  const index = await getManifestJson(client, host, repository, { tag: tagOf(digest) });
  if (!index) throw new Error(`no referrers index ${tagOf(digest)} in ${host}/${repository}`);
  let forged = 0;
  for (const d of index.json.manifests ?? []) {
    if (d.artifactType !== BUNDLE_ARTIFACT) continue;
    const referrer = await getManifestJson(client, host, repository, { digest: d.digest });
    const layer = referrer?.json.layers?.[0];
    if (!referrer || !layer) continue;
    const bundle = JSON.parse(Buffer.from(await client.getBlob(host, repository, layer.digest)).toString('utf8')) as {
      dsseEnvelope: { payload: string; signatures: { sig: string }[] };
    };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicateType?: string };
    if (statement.predicateType !== COSIGN_SIGN_PREDICATE) continue;
    bundle.dsseEnvelope.signatures = bundle.dsseEnvelope.signatures.map((s) => ({ ...s, sig: signatureB64 }));
    const blob = await client.pushBlob(host, repository, Buffer.from(JSON.stringify(bundle)));
    referrer.json.layers![0] = { ...layer, digest: blob.digest, size: blob.size };
    const bytes = Buffer.from(JSON.stringify(referrer.json));
    const newDigest = await client.putManifest({ host, repository, digest: sha256(bytes) }, bytes, referrer.mediaType);
    d.digest = newDigest;
    d.size = bytes.length;
    forged++;
  }
  await client.putManifest({ host, repository, tag: tagOf(digest) }, Buffer.from(JSON.stringify(index.json)), OCI_INDEX);
  return forged;
}

/** The DSSE signature of the first cosign-sign bundle referrer of `digest`. */
export async function bundleSignatureOf(client: RegistryClient, host: string, repository: string, digest: string): Promise<string> {
  for (const d of await referrersOf(client, host, repository, digest)) {
    const referrer = await getManifestJson(client, host, repository, { digest: d.digest });
    const layer = referrer?.json.layers?.[0];
    if (!layer) continue;
    const bundle = JSON.parse(Buffer.from(await client.getBlob(host, repository, layer.digest)).toString('utf8')) as {
      dsseEnvelope?: { payload: string; signatures: { sig: string }[] };
    };
    if (bundle.dsseEnvelope?.signatures[0]) return bundle.dsseEnvelope.signatures[0].sig;
  }
  throw new Error(`no bundle signature for ${digest} in ${host}/${repository}`);
}

async function copyBlobsWithin(client: RegistryClient, host: string, fromRepo: string, toRepo: string, digests: string[]): Promise<void> {
  for (const d of digests) {
    if ((await client.headBlob(host, toRepo, d)) !== undefined) continue;
    if (await client.mountBlob(host, toRepo, d, fromRepo)) continue;
    await client.pushBlob(host, toRepo, await client.getBlob(host, fromRepo, d));
  }
}

/**
 * Copies `from`'s legacy `.sig` or `.att` manifest (with its blobs) to `to`'s tag of the same kind:
 * genuine, signed evidence whose payload names another image.
 */
export async function transplantLegacy(
  client: RegistryClient,
  host: string,
  suffix: '.sig' | '.att',
  from: { repository: string; digest: string },
  to: { repository: string; digest: string },
): Promise<void> {
  const m = await getManifestJson(client, host, from.repository, { tag: tagOf(from.digest, suffix) });
  if (!m) throw new Error(`no ${tagOf(from.digest, suffix)} in ${host}/${from.repository}`);
  await copyBlobsWithin(client, host, from.repository, to.repository, [m.json.config!.digest, ...(m.json.layers ?? []).map((l) => l.digest)]);
  await client.putManifest({ host, repository: to.repository, tag: tagOf(to.digest, suffix) }, m.bytes, m.mediaType);
}

/** A legacy `.att` of another image placed on this one (see transplantLegacy). */
export const transplantLegacyAttestation = (
  client: RegistryClient,
  host: string,
  from: { repository: string; digest: string },
  to: { repository: string; digest: string },
) => transplantLegacy(client, host, '.att', from, to);

/**
 * Lists `from`'s bundle referrers (their manifests and blobs copied unchanged, subject still
 * `from`) in `to`'s referrers fallback index: genuine bundles that answer for another digest.
 */
export async function transplantBundleReferrers(
  client: RegistryClient,
  host: string,
  from: { repository: string; digest: string },
  to: { repository: string; digest: string },
): Promise<number> {
  const index = await getManifestJson(client, host, from.repository, { tag: tagOf(from.digest) });
  const entries = (index?.json.manifests ?? []).filter((d) => d.artifactType === BUNDLE_ARTIFACT);
  for (const d of entries) {
    const referrer = (await getManifestJson(client, host, from.repository, { digest: d.digest }))!;
    await copyBlobsWithin(client, host, from.repository, to.repository, [referrer.json.config!.digest, ...(referrer.json.layers ?? []).map((l) => l.digest)]);
    await client.putManifest({ host, repository: to.repository, digest: d.digest }, referrer.bytes, referrer.mediaType);
  }
  const next = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries };
  await client.putManifest({ host, repository: to.repository, tag: tagOf(to.digest) }, Buffer.from(JSON.stringify(next)), OCI_INDEX);
  return entries.length;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
