// The normalized manifest bundle: the plain-JSON contract between the CLI, the
// workflows and the activities. Both manifest layouts normalize to it.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DIGEST_RE, IMAGE_NAME_RE, TAG_RE, isRegistryName } from './patterns';

export const SIGNATURE_MODES = ['require', 'if-present', 'off'] as const;
export const PROVENANCE_MODES = ['require', 'warn', 'off'] as const;
export type SignatureMode = (typeof SIGNATURE_MODES)[number];
export type ProvenanceMode = (typeof PROVENANCE_MODES)[number];

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
  .refine((i) => (i.subject === undefined) !== (i.subjectRegExp === undefined), 'exactly one of subject, subjectRegExp');
const PemKey = z.string().regex(PEM_PUBLIC_KEY_RE, 'a PEM public key');

/**
 * The bundle's shape, stated once. Only the tests use it: every bundle the loaders produce (plain
 * and thin layouts) must satisfy it, which keeps a loader from slipping a field past the rules.
 */
export const ManifestBundleSchema = z.strictObject({
  version: z.literal(1),
  projects: z.array(
    z.strictObject({
      name: z.string().min(1),
      file: z.string().min(1),
      source: z.string().refine(isRegistryName, 'a registry name'),
      destinations: z.array(z.string().refine(isRegistryName, 'a registry name')).min(1),
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
      const v = value[i];
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

/** Lowercase hex sha256 of canonicalJson(bundle): the bundle's identity. */
export function bundleSha256(bundle: ManifestBundle): string {
  return createHash('sha256').update(canonicalJson(bundle), 'utf8').digest('hex');
}
