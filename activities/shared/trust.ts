/**
 * Trust material. Verification keys come from the manifests' policies (public, in the bundle);
 * the signing key and the sigstore trusted root come from the worker's configuration only.
 * Each is loaded once per worker and kept here, not at module level.
 */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { PromoterConfig } from '../../lib/config';
import type { Identity, ManifestBundle } from '../../lib/manifests';
import {
  FulcioChains,
  KeylessSigner,
  KeySigner,
  SigningError,
  checkIdentityToken,
  identityMatchers,
  keylessConfig,
  keylessConfigFromSigningConfig,
  loadSigningKey,
  loadVerificationKeys,
  readIdentityToken,
  type ImageSigner,
  type KeylessConfig,
  type KeylessTrust,
  type SigningKey,
  type VerificationKey,
} from '../../lib/signing';

export interface Trust {
  keys: VerificationKey[];
  keyless?: KeylessTrust;
}

export interface TrustPolicy {
  mode: string;
  keys: string[];
  identities: Identity[];
}

export class TrustMaterial {
  private readonly keysByPolicy = new Map<string, VerificationKey[]>();
  private trustedRoot: Promise<unknown> | undefined;
  private signingKey: Promise<SigningKey> | undefined;
  private keyless: Promise<KeylessConfig> | undefined;
  private readonly fulcioChains = new FulcioChains();

  constructor(private readonly signing: PromoterConfig['signing']) {}

  /** Every policy's keys load (and the signing key, for a confirmed run): a bad key fails Setup, not Validate. */
  async check(bundle: ManifestBundle, confirm: boolean): Promise<void> {
    for (const p of bundle.projects) {
      for (const policy of [p.signatures, p.provenance]) {
        try {
          await this.forPolicy(policy);
        } catch (err) {
          throw ApplicationFailure.nonRetryable(`${p.file}: ${(err as Error).message}`, 'InvalidInput');
        }
      }
    }
    if (confirm) await this.imageSigner();
  }

  /**
   * Who signs for this worker: its key, or (PROMOTER_SIGNING_MODE=keyless) its OIDC identity. For
   * keyless the token is read and checked now, so an expired or wrongly scoped token fails Setup
   * before anything is signed; each signing reads it again (it is refreshed).
   */
  async imageSigner(): Promise<ImageSigner> {
    if (this.signing.mode === 'key') return new KeySigner(await this.workerSigningKey(), this.signing.format);
    const config = await this.keylessConfig();
    let claims;
    try {
      claims = checkIdentityToken(await readIdentityToken(config.oidcTokenSource), config.oidcTokenSource, { audience: config.audience });
    } catch (err) {
      if (err instanceof SigningError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, err.code);
      throw err;
    }
    return new KeylessSigner(config, { subject: claims.subject, issuer: claims.issuer }, this.signing.format, this.fulcioChains);
  }

  /** Trust in the worker's own signatures: what the nightly check verifies them with. */
  async ownTrust(): Promise<Trust> {
    if (this.signing.mode === 'key') return { keys: [await this.workerSigningKey()] };
    const signer = await this.imageSigner();
    const [, identity] = /^[^:]+:keyless:(.*)$/.exec(signer.mark) ?? [];
    const at = identity?.lastIndexOf('@') ?? -1;
    return {
      keys: [],
      keyless: { trustedRoot: await this.loadTrustedRoot(), identities: [{ issuer: identity!.slice(at + 1), subject: identity!.slice(0, at) }] },
    };
  }

  /** The keys and keyless identities a policy names, ready for the verifiers. */
  async forPolicy(policy: TrustPolicy): Promise<Trust> {
    const cacheKey = policy.keys.join('\n');
    let keys = this.keysByPolicy.get(cacheKey);
    if (!keys) {
      try {
        keys = loadVerificationKeys(policy.keys);
      } catch (err) {
        throw new Error(`a verification key does not load: ${(err as Error).message}`);
      }
      this.keysByPolicy.set(cacheKey, keys);
    }
    if (policy.identities.length === 0 || policy.mode === 'off') return { keys };
    identityMatchers(policy.identities); // an identity no verifier could enforce (say, an unanchored pattern) fails Setup
    return { keys, keyless: { trustedRoot: await this.loadTrustedRoot(), identities: policy.identities } };
  }

  /** The worker's signing key, loaded from its configuration (never from workflow input). */
  workerSigningKey(): Promise<SigningKey> {
    this.signingKey ??= this.readSigningKey();
    this.signingKey.catch(() => (this.signingKey = undefined));
    return this.signingKey;
  }

  private keylessConfig(): Promise<KeylessConfig> {
    this.keyless ??= (async () => {
      const k = this.signing.keyless;
      const fail = (why: string) => ApplicationFailure.nonRetryable(`keyless signing: ${why}`, 'ConfigError');
      if (!k.tokenSource) throw fail('set PROMOTER_IDENTITY_TOKEN_FILE (or PROMOTER_IDENTITY_TOKEN_ENV) on the worker');
      try {
        if (k.signingConfigPath)
          return keylessConfigFromSigningConfig(JSON.parse(await readFile(k.signingConfigPath, 'utf8')), { oidcTokenSource: k.tokenSource });
        if (!k.fulcioURL) throw fail('set PROMOTER_SIGNING_CONFIG, or PROMOTER_FULCIO_URL with PROMOTER_REKOR_URL and/or PROMOTER_TSA_URL');
        return keylessConfig({ fulcioURL: k.fulcioURL, rekorURL: k.rekorURL, tsaURL: k.tsaURL, oidcTokenSource: k.tokenSource });
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        throw fail((err as Error).message);
      }
    })();
    this.keyless.catch(() => (this.keyless = undefined));
    return this.keyless;
  }

  private loadTrustedRoot(): Promise<unknown> {
    const path = this.signing.trustedRootPath;
    if (!path) throw new Error('keyless identities need a sigstore trusted root: set PROMOTER_TRUSTED_ROOT on the worker');
    this.trustedRoot ??= readFile(path, 'utf8').then((t) => JSON.parse(t) as unknown);
    this.trustedRoot.catch(() => (this.trustedRoot = undefined));
    return this.trustedRoot;
  }

  private async readSigningKey(): Promise<SigningKey> {
    const { keyPath: path, keyPassword: password } = this.signing;
    if (!path) throw ApplicationFailure.nonRetryable('no signing key configured: set PROMOTER_SIGNING_KEY on the worker', 'ConfigError');
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`signing key ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, 'ConfigError');
    }
    try {
      return loadSigningKey({ pem, password });
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`signing key ${path} does not load: ${(err as Error).message}`, 'ConfigError');
    }
  }
}
