// The dev stack's keyless signing services for tests: URLs, trust files, the identity token, and
// tokens for other identities minted with the stack's own issuer key (as a second workload of the
// same cloud identity provider would get), or with a stranger's key.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keylessConfigFromSigningConfig, type KeylessConfig, type KeylessTrust } from '../../lib/signing';
import { loadIssuerKey, mintIdToken, type IdTokenClaims } from '../../scripts/dev/oidc-issuer';
import { sigstoreFiles, stackEnv } from '../../scripts/dev/stack';

export interface KeylessStack {
  fulcioURL: string;
  rekorURL: string;
  tsaURL: string;
  trustedRootPath: string;
  signingConfigPath: string;
  tokenFile: string;
  identity: string;
  issuer: string;
}

/** The stack's keyless services, or undefined when they do not run here (not root, not built). */
export function keylessStack(): KeylessStack | undefined {
  const env = { ...stackEnv(), ...process.env };
  if (!env.PROMOTER_FULCIO_URL || !env.PROMOTER_TRUSTED_ROOT) return undefined;
  return {
    fulcioURL: env.PROMOTER_FULCIO_URL,
    rekorURL: env.PROMOTER_REKOR_URL!,
    tsaURL: env.PROMOTER_TSA_URL!,
    trustedRootPath: env.PROMOTER_TRUSTED_ROOT,
    signingConfigPath: env.PROMOTER_SIGNING_CONFIG!,
    tokenFile: env.PROMOTER_IDENTITY_TOKEN_FILE!,
    identity: env.PROMOTER_KEYLESS_IDENTITY!,
    issuer: env.PROMOTER_KEYLESS_ISSUER!,
  };
}

/** The promoter's keyless configuration, from the stack's signing_config.json and token file. */
export function keylessConfigOf(k: KeylessStack, oidcTokenSource = `file:${k.tokenFile}`): KeylessConfig {
  return keylessConfigFromSigningConfig(JSON.parse(readFileSync(k.signingConfigPath, 'utf8')), { oidcTokenSource, timeoutMs: 20_000 });
}

/**
 * Verification trust for one identity. No CT log runs in the dev stack, so certificates carry
 * no SCT: ctlogThreshold 0, as `cosign verify --insecure-ignore-sct`.
 */
export function keylessTrustOf(k: KeylessStack, identity: { subject?: string; subjectRegExp?: string; issuer?: string } = {}): KeylessTrust {
  return {
    trustedRoot: JSON.parse(readFileSync(k.trustedRootPath, 'utf8')),
    identities: [
      {
        issuer: identity.issuer ?? k.issuer,
        ...(identity.subjectRegExp ? { subjectRegExp: identity.subjectRegExp } : { subject: identity.subject ?? k.identity }),
      },
    ],
    ctlogThreshold: 0,
  };
}

/** A token from the stack's issuer for any identity, audience or time. */
export function mintToken(k: KeylessStack, claims: Partial<IdTokenClaims> = {}): string {
  return mintIdToken(loadIssuerKey(readFileSync(sigstoreFiles.oidcKey)), { issuer: k.issuer, email: k.identity, ...claims });
}

/** A well-formed token that no issuer Fulcio trusts has signed. */
export function strangerToken(k: KeylessStack): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return mintIdToken(loadIssuerKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), { issuer: k.issuer, email: k.identity });
}

/** cosign flags for keyless verification against the stack (no CT log: no SCTs to check). */
export function cosignKeylessVerifyFlags(k: KeylessStack, identity = k.identity): string[] {
  return ['--certificate-identity', identity, '--certificate-oidc-issuer', k.issuer, '--trusted-root', k.trustedRootPath, '--insecure-ignore-sct'];
}

/** Extra flags for the legacy `.sig` format: its evidence is the RFC 3161 timestamp, not a Rekor v2 entry. */
export const COSIGN_LEGACY_KEYLESS_VERIFY = ['--new-bundle-format=false', '--insecure-ignore-tlog', '--use-signed-timestamps'];
