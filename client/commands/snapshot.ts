// `promoter snapshot REGISTRY/PREFIX [--format yaml|json|csv] [--signatures] [--repository NAME…] [--images FILE]`:
// what a registry holds under a prefix, read directly from this process (no Temporal, no S3) with
// the registry credentials of DOCKER_CONFIG. The work is lib/snapshot's; this only wires it up.
import { readFile } from 'node:fs/promises';
import { loadConfig } from '../../lib/config';
import { IMAGE_NAME_RE, isRegistryName, loadImagesFile } from '../../lib/manifests';
import { RegistryClient, CatalogError } from '../../lib/oci';
import { loadVerificationKeys, SignatureStore } from '../../lib/signing';
import {
  formatSnapshot,
  readSnapshot,
  SNAPSHOT_FORMATS,
  SnapshotError,
  snapshotRegistryOf,
  withEvidence,
  type EvidenceTrust,
  type SnapshotFormat,
} from '../../lib/snapshot';
import { UsageError } from '../connect';
import type { Output } from '../output';

export interface SnapshotOptions {
  format?: string;
  signatures?: boolean;
  repository?: string[];
  images?: string;
  key?: string;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
}

export async function snapshotCommand(registry: string, opts: SnapshotOptions, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const format = (opts.format ?? 'yaml') as SnapshotFormat;
  if (!SNAPSHOT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${SNAPSHOT_FORMATS.join(', ')}`);
  if (!isRegistryName(registry)) throw new UsageError(`${JSON.stringify(registry)} is not a registry name (host[:port][/prefix])`);
  const names = await namesToRead(opts, out);
  const bad = names?.find((n) => !IMAGE_NAME_RE.test(n));
  if (bad !== undefined) throw new UsageError(`--repository ${JSON.stringify(bad)} is not an image name (the repository below ${registry})`);
  const trust = opts.signatures ? await evidenceTrust(opts, env) : undefined;
  const config = loadConfig(env);
  const client = RegistryClient.fromDockerConfig({
    insecureRegistries: config.insecureRegistries,
    allowedRegistries: config.allowedRegistries,
    retry: { maxRetryAfterMs: config.maxRetryAfterMs },
    limits: { default: config.limits },
  });

  let snapshot;
  try {
    snapshot = await readSnapshot(snapshotRegistryOf(client), registry, names);
    if (trust) snapshot = await withEvidence(new SignatureStore(client), snapshot, trust);
  } catch (err) {
    if (err instanceof CatalogError) throw new UsageError(`${err.message}: name the images with --repository NAME or --images FILE`, 1);
    if (err instanceof SnapshotError) throw new UsageError(err.message, 1);
    throw err;
  }
  for (const s of snapshot.skipped) out.info(`promoter snapshot: left out: ${s}`);
  out.print(formatSnapshot(snapshot, format).replace(/\n$/, ''));
  return 0;
}

/** The image names of --repository and --images, or undefined to read the catalog. */
async function namesToRead(opts: SnapshotOptions, out: Output): Promise<string[] | undefined> {
  if (!opts.repository?.length && !opts.images) return undefined;
  const names = [...(opts.repository ?? [])];
  if (opts.images) {
    const loaded = await loadImagesFile(opts.images);
    if (!loaded.images) {
      for (const e of loaded.errors) out.info(`${opts.images}${e.line > 0 ? `:${e.line}` : ''}: ${e.rule}: ${e.message}`);
      throw new UsageError(`${opts.images} is not a valid images file (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'})`);
    }
    names.push(...loaded.images.map((i) => i.name));
  }
  return names;
}

/**
 * Whose signatures count: the promoter's public key (--key, else PROMOTER_PUBLIC_KEY) and/or its
 * keyless identity (--certificate-identity and --certificate-oidc-issuer, else
 * PROMOTER_KEYLESS_IDENTITY and PROMOTER_KEYLESS_ISSUER, verified against PROMOTER_TRUSTED_ROOT).
 */
async function evidenceTrust(opts: SnapshotOptions, env: NodeJS.ProcessEnv): Promise<EvidenceTrust> {
  const keyPath = opts.key ?? env.PROMOTER_PUBLIC_KEY;
  const subject = opts.certificateIdentity ?? env.PROMOTER_KEYLESS_IDENTITY;
  const issuer = opts.certificateOidcIssuer ?? env.PROMOTER_KEYLESS_ISSUER;
  if (!keyPath && !(subject && issuer)) {
    throw new UsageError(
      "--signatures needs the promoter's public key (--key FILE or PROMOTER_PUBLIC_KEY) or its keyless identity " +
        '(--certificate-identity and --certificate-oidc-issuer, or PROMOTER_KEYLESS_IDENTITY and PROMOTER_KEYLESS_ISSUER)',
    );
  }
  const trust: EvidenceTrust = { keys: [] };
  if (keyPath) {
    try {
      trust.keys = loadVerificationKeys([await readFile(keyPath, 'utf8')]);
    } catch (err) {
      throw new UsageError(`public key ${keyPath}: ${(err as Error).message}`);
    }
  }
  if (subject && issuer) {
    const rootPath = env.PROMOTER_TRUSTED_ROOT;
    if (!rootPath) throw new UsageError('a keyless identity is verified against a sigstore trusted root: set PROMOTER_TRUSTED_ROOT');
    let trustedRoot: unknown;
    try {
      trustedRoot = JSON.parse(await readFile(rootPath, 'utf8'));
    } catch (err) {
      throw new UsageError(`trusted root ${rootPath}: ${(err as Error).message}`);
    }
    trust.keyless = { trustedRoot, identities: [{ issuer, subject }] };
  }
  return trust;
}
