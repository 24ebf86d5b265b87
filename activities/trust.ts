/** Trust material: the signing key (confirmed runs) and every verification key the policies name must load. */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { ManifestBundle } from '../lib/manifests';
import { loadSigningKey, loadVerificationKeys, type SigningKey } from '../lib/signing/keys';
import type { ActivityDeps } from './context';

export async function checkTrustMaterial(deps: ActivityDeps, bundle: ManifestBundle, confirm: boolean): Promise<void> {
  for (const p of bundle.projects) {
    try {
      loadVerificationKeys([...p.signatures.keys, ...p.provenance.keys]);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`${p.file}: a verification key does not load: ${(err as Error).message}`, 'InvalidInput');
    }
  }
  if (confirm) await loadWorkerSigningKey(deps);
}

let cached: Promise<SigningKey> | undefined;

/** The worker's signing key, loaded from its configuration (never from workflow input). */
export function loadWorkerSigningKey(deps: ActivityDeps): Promise<SigningKey> {
  cached ??= (async () => {
    const path = deps.config.signing.keyPath;
    if (!path) throw ApplicationFailure.nonRetryable('no signing key configured: set PROMOTER_SIGNING_KEY on the worker', 'ConfigError');
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`signing key ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'ConfigError');
    }
    try {
      return loadSigningKey({ pem, password: process.env.PROMOTER_SIGNING_KEY_PASSWORD });
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`signing key ${path} does not load: ${(err as Error).message}`, 'ConfigError');
    }
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
