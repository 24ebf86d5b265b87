import type { PromoterConfig } from '../lib/config';
import { bundleSha256, canonicalJson, type ManifestBundle } from '../lib/manifests';
import { bundleKey } from '../lib/run/storage-keys';
import { AuditStore } from '../lib/storage/audit-store';
import { loadManifests, type ManifestSource } from './load-manifests';
import { printManifestErrors, type Output } from './output';

/** Claim check: the bundle goes to S3 under its own hash (written once); workflows get the key. */
export async function storeBundle(config: PromoterConfig, bundle: ManifestBundle): Promise<{ key: string; sha: string }> {
  const store = new AuditStore(config.store);
  await store.checkBucket();
  const sha = bundleSha256(bundle);
  const key = bundleKey(sha);
  if (!(await store.exists(key))) await store.putBytes(key, canonicalJson(bundle), 'application/json');
  return { key, sha };
}

/**
 * For the commands that default to the manifests of the last confirmed promotion (the nightly
 * re-mirroring, the audit): the stored bundle of the manifests given, `{}` when none were given,
 * or the exit code 2 after printing why the given ones are refused.
 */
export async function givenBundleKey(config: PromoterConfig, opts: ManifestSource & { json?: boolean }, out: Output): Promise<{ bundleKey?: string } | number> {
  if (!opts.manifest && !opts.thinManifestDir) return {};
  const { result } = await loadManifests(opts);
  if (!result.bundle) {
    printManifestErrors(result.errors, out, opts.json);
    return 2;
  }
  return { bundleKey: (await storeBundle(config, result.bundle)).key };
}
