// The normalized manifest bundle: the plain-JSON contract between the CLI, the
// workflows and the activities. Both manifest layouts normalize to it.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { normalizeRegistry } from '../oci/reference';
import { checkIdentityPattern } from '../signing/identity-policy';
import { DIGEST_RE, IMAGE_NAME_RE, TAG_RE, isRegistryName } from './patterns';
import { checkPublicKeyPem } from './public-keys';

export const SIGNATURE_MODES = ['require', 'if-present', 'off'] as const;
export const PROVENANCE_MODES = ['require', 'warn', 'off'] as const;
type SignatureMode = (typeof SIGNATURE_MODES)[number];
type ProvenanceMode = (typeof PROVENANCE_MODES)[number];

/** A keyless signer: an OIDC issuer plus exactly one of subject / subjectRegExp. */
export interface Identity {
  issuer: string;
  subject?: string;
  subjectRegExp?: string;
}

export interface SignaturePolicy {
  mode: SignatureMode;
  /** PEM public keys (text, not paths). */
  keys: string[];
  identities: Identity[];
}

export interface ProvenancePolicy {
  mode: ProvenanceMode;
  /** Allowed SLSA builder ids (exact match). */
  builders: string[];
  /** Allowed source repository URIs (prefix match). */
  sources: string[];
  /** PEM public keys (text, not paths). */
  keys: string[];
  identities: Identity[];
}

export interface BundleImage {
  name: string;
  /** digest -> tags (de-duplicated, file order); an empty list promotes the digest untagged. */
  dmap: Record<string, string[]>;
}

export interface Project {
  /** thin: the <p> folder; plain: the file's base name without extension. */
  name: string;
  /** Manifest path relative to the loaded root (for messages). */
  file: string;
  /** Registry name of the `src: true` entry. */
  source: string;
  /** Destination registry names, de-duplicated, in file order. */
  destinations: string[];
  /**
   * Where `file` names the source and each destination (1-based lines, `destinations` in the same
   * order), so the worker can point at the line of a registry it refuses. Not part of the
   * bundle's hash (bundleSha256), and optional: bundles stored before it existed load as they did.
   */
  registryLines?: { source: number; destinations: number[] };
  images: BundleImage[];
  signatures: SignaturePolicy;
  provenance: ProvenancePolicy;
}

export interface ManifestBundle {
  version: 1;
  /** Sorted by name. */
  projects: Project[];
}

export const DEFAULT_SIGNATURE_POLICY: SignaturePolicy = { mode: 'if-present', keys: [], identities: [] };
export const DEFAULT_PROVENANCE_POLICY: ProvenancePolicy = {
  mode: 'warn',
  builders: [],
  sources: [],
  keys: [],
  identities: [],
};

const PEM_PUBLIC_KEY_RE = /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/;

const IdentityOut = z
  .strictObject({ issuer: z.string().min(1), subject: z.string().min(1).optional(), subjectRegExp: z.string().min(1).optional() })
  .refine((i) => (i.subject === undefined) !== (i.subjectRegExp === undefined), 'exactly one of subject, subjectRegExp')
  .superRefine((i, ctx) => {
    const problem = i.subjectRegExp === undefined ? undefined : checkIdentityPattern(i.subjectRegExp);
    if (problem) ctx.addIssue({ code: 'custom', path: ['subjectRegExp'], message: `${problem.rule}: subjectRegExp ${problem.message}` });
  });
// The text the loader writes: one normalized PEM public key that parses.
const PemKey = z
  .string()
  .regex(PEM_PUBLIC_KEY_RE, 'a PEM public key')
  .refine((k) => {
    const checked = checkPublicKeyPem(k);
    return 'pem' in checked && checked.pem === k;
  }, 'a PEM public key that parses, normalized as the loader writes it');
// Registry names in the one spelling the loader writes (normalizeRegistry), so that every
// comparison downstream sees one name per registry.
const RegistryName = z
  .string()
  .refine(isRegistryName, 'a registry name')
  .refine((n) => normalizeRegistry(n) === n, 'a registry name in normalized spelling (lower-case host, no :443, docker.io for Docker Hub)');

/**
 * The bundle's shape, stated once, with the rules each field is held to. Every bundle the loaders
 * produce (plain and thin layouts) must satisfy it, which keeps a loader from slipping a field past
 * the rules; parseManifestBundle applies it (and the cross-field rules) to a bundle read back from S3.
 */
export const ManifestBundleSchema = z.strictObject({
  version: z.literal(1),
  projects: z.array(
    z.strictObject({
      name: z.string().min(1),
      file: z.string().min(1),
      source: RegistryName,
      destinations: z.array(RegistryName).min(1),
      registryLines: z.strictObject({ source: z.number().int().min(0), destinations: z.array(z.number().int().min(0)) }).optional(),
      images: z.array(
        z.strictObject({
          name: z.string().regex(IMAGE_NAME_RE),
          dmap: z.record(z.string().regex(DIGEST_RE), z.array(z.string().regex(TAG_RE))),
        }),
      ),
      signatures: z.strictObject({
        mode: z.enum(SIGNATURE_MODES),
        keys: z.array(PemKey),
        identities: z.array(IdentityOut),
      }),
      provenance: z.strictObject({
        mode: z.enum(PROVENANCE_MODES),
        builders: z.array(z.string().min(1)),
        sources: z.array(z.string().min(1)),
        keys: z.array(PemKey),
        identities: z.array(IdentityOut),
      }),
    }),
  ),
}) satisfies z.ZodType<ManifestBundle>;

/**
 * JSON with object keys sorted at every level (arrays keep their order), so two
 * bundles that differ only in key insertion order serialize, and hash, alike.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

function write(value: unknown, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    // Like JSON.stringify: undefined and functions at the top level become null.
    out.push(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const v: unknown = value[i];
      if (v === undefined || typeof v === 'function') out.push('null');
      else write(v, out);
    }
    out.push(']');
    return;
  }
  const obj = value as Record<string, unknown>;
  // Code-unit order (not locale order) so the result never depends on the host.
  const keys = Object.keys(obj).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  out.push('{');
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function') continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    write(v, out);
  }
  out.push('}');
}

/**
 * Lowercase hex sha256 of canonicalJson(bundle) without the registry lines: the bundle's identity.
 * Where a registry is written is not what is promoted: the same manifests with a comment added
 * are the same promotion (and hash as they did before lines were carried).
 */
export function bundleSha256(bundle: ManifestBundle): string {
  return createHash('sha256')
    .update(canonicalJson(withoutLocations(bundle)), 'utf8')
    .digest('hex');
}

function withoutLocations(bundle: ManifestBundle): ManifestBundle {
  if (!bundle.projects?.some((p) => p.registryLines !== undefined)) return bundle;
  return { ...bundle, projects: bundle.projects.map(({ registryLines: _lines, ...p }) => p) };
}
