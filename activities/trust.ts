/**
 * Trust material. Verification keys come from the manifests' policies (public, in the bundle);
 * the signing key and the sigstore trusted root come from the worker's configuration only.
 */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { Identity, ManifestBundle } from '../lib/manifests';
import { loadSigningKey, loadVerificationKeys, type KeylessTrust, type SigningKey, type VerificationKey } from '../lib/signing';
import type { ActivityDeps } from './context';

export interface Trust {
  keys: VerificationKey[];
  keyless?: KeylessTrust;
}

export async function checkTrustMaterial(deps: ActivityDeps, bundle: ManifestBundle, confirm: boolean): Promise<void> {
  for (const p of bundle.projects) {
    for (const policy of [p.signatures, p.provenance]) {
      try {
        await trustFor(deps, policy);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`${p.file}: ${(err as Error).message}`, 'InvalidInput');
      }
    }
  }
  if (confirm) await loadWorkerSigningKey(deps);
}

const keyCache = new Map<string, VerificationKey[]>();

/** The keys and keyless identities a policy names, ready for the verifiers. */
export async function trustFor(deps: ActivityDeps, policy: { mode: string; keys: string[]; identities: Identity[] }): Promise<Trust> {
  const cacheKey = policy.keys.join('\n');
  let keys = keyCache.get(cacheKey);
  if (!keys) {
    try {
      keys = loadVerificationKeys(policy.keys);
    } catch (err) {
      throw new Error(`a verification key does not load: ${(err as Error).message}`);
    }
    keyCache.set(cacheKey, keys);
  }
  if (policy.identities.length === 0 || policy.mode === 'off') return { keys };
  const trustedRoot = await loadTrustedRoot(deps);
  return { keys, keyless: { trustedRoot, identities: policy.identities } };
}

let trustedRoot: Promise<unknown> | undefined;

async function loadTrustedRoot(deps: ActivityDeps): Promise<unknown> {
  const path = deps.config.signing.trustedRootPath;
  if (!path) throw new Error('keyless identities need a sigstore trusted root: set PROMOTER_TRUSTED_ROOT on the worker');
  trustedRoot ??= readFile(path, 'utf8').then((t) => JSON.parse(t) as unknown);
  return trustedRoot;
}

let signingKey: Promise<SigningKey> | undefined;

/** The worker's signing key, loaded from its configuration (never from workflow input). */
export function loadWorkerSigningKey(deps: ActivityDeps): Promise<SigningKey> {
  signingKey ??= (async () => {
    const path = deps.config.signing.keyPath;
    if (!path) throw ApplicationFailure.nonRetryable('no signing key configured: set PROMOTER_SIGNING_KEY on the worker', 'ConfigError');
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`signing key ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 'ConfigError');
    }
    try {
      return loadSigningKey({ pem, password: process.env.PROMOTER_SIGNING_KEY_PASSWORD });
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`signing key ${path} does not load: ${(err as Error).message}`, 'ConfigError');
    }
  })();
  signingKey.catch(() => (signingKey = undefined));
  return signingKey;
}
