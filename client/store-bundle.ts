import type { PromoterConfig } from '../lib/config';
import { bundleSha256, canonicalJson, type ManifestBundle } from '../lib/manifests';
import { bundleKey } from '../lib/run/storage-keys';
import { AuditStore } from '../lib/storage/audit-store';

/** Claim check: the bundle goes to S3 under its own hash (written once); workflows get the key. */
export async function storeBundle(config: PromoterConfig, bundle: ManifestBundle): Promise<{ key: string; sha: string }> {
  const store = new AuditStore(config.store);
  await store.checkBucket();
  const sha = bundleSha256(bundle);
  const key = bundleKey(sha);
  if (!(await store.exists(key))) await store.putBytes(key, canonicalJson(bundle), 'application/json');
  return { key, sha };
}
