// zod schemas of the files people write: the plain kpromo manifest, the thin
// promoter-manifest.yaml and images.yaml, and the supply-chain policy blocks.
// Every object is strict (unknown keys fail). Messages carry their rule id,
// `rule<RULE_SEP>text`, so findings map to stable rule ids (see issues.ts).
import { z } from 'zod';
import { checkIdentityPattern } from '../signing/identity-policy';
import { PROVENANCE_MODES, SIGNATURE_MODES } from './bundle';
import { DIGEST_RE, IMAGE_NAME_RE, TAG_RE, isRegistryName } from './patterns';

export const RULE_SEP = '\u0000';
const r = (rule: string, text: string): string => `${rule}${RULE_SEP}${text}`;

/** A string that must match `test`; a value of another type fails with the same rule. */
function checkedString(rule: string, noun: string, what: string, test: (s: string) => boolean) {
  return z
    .string({
      error: (iss) =>
        iss.input === undefined ? undefined : r(rule, `${noun} must be a string, got ${typeof iss.input} ${JSON.stringify(iss.input)} (quote it)`),
    })
    .refine(test, { error: (iss) => r(rule, `${JSON.stringify(iss.input)} is not ${what}`) });
}

const RegistryNameSchema = checkedString('registry-name', 'registry name', 'a registry name (host[:port][/path])', isRegistryName);
const ImageNameSchema = checkedString('image-name', 'image name', 'an image name (OCI repository name grammar)', (s) => IMAGE_NAME_RE.test(s));
const DigestSchema = checkedString('digest-format', 'digest', 'a digest (sha256:<64 lowercase hex>)', (s) => DIGEST_RE.test(s));
const TagSchema = checkedString('tag-format', 'tag', 'a tag (^\\w[\\w.-]{0,127}$)', (s) => TAG_RE.test(s));

const RegistrySchema = z.strictObject({
  name: RegistryNameSchema,
  src: z.boolean().optional(),
  'service-account': z.string().min(1).optional(),
});

const ImageSchema = z.strictObject({
  name: ImageNameSchema,
  dmap: z.record(DigestSchema, z.array(TagSchema)).refine((d) => Object.keys(d).length > 0, { error: r('empty-dmap', 'dmap lists no digest') }),
});

/** images/<p>/images.yaml; an empty or comment-only file is read as `[]` before this schema. */
export const ImagesFileSchema = z.array(ImageSchema);

const nonEmpty = (what: string) => z.string().min(1, { error: r('empty-value', `${what} must not be empty`) });

const IdentitySchema = z
  .strictObject({
    issuer: nonEmpty('issuer'),
    subject: nonEmpty('subject').optional(),
    subjectRegExp: nonEmpty('subjectRegExp').optional(),
  })
  .superRefine((id, ctx) => {
    if ((id.subject === undefined) === (id.subjectRegExp === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: r('identity-subject', 'give exactly one of subject, subjectRegExp') });
    }
    // Compiled on RE2 and anchored ^…$, as the verifiers will insist (lib/signing/identity-policy.ts).
    const problem = id.subjectRegExp === undefined ? undefined : checkIdentityPattern(id.subjectRegExp);
    if (problem) ctx.addIssue({ code: 'custom', path: ['subjectRegExp'], message: r(problem.rule, `subjectRegExp ${problem.message}`) });
  });

/** A key entry: inline PEM text or a path relative to the manifest's folder (loaded in keys.ts). */
const KeyEntrySchema = nonEmpty('key');

export const SignaturePolicySchema = z.strictObject({
  mode: z.enum(SIGNATURE_MODES, { error: r('policy-mode', `signatures.mode must be one of ${SIGNATURE_MODES.join(', ')}`) }).default('if-present'),
  keys: z.array(KeyEntrySchema).default([]),
  identities: z.array(IdentitySchema).default([]),
});

export const ProvenancePolicySchema = z.strictObject({
  mode: z.enum(PROVENANCE_MODES, { error: r('policy-mode', `provenance.mode must be one of ${PROVENANCE_MODES.join(', ')}`) }).default('warn'),
  builders: z.array(nonEmpty('builder id')).default([]),
  sources: z.array(nonEmpty('source URI')).default([]),
  keys: z.array(KeyEntrySchema).default([]),
  identities: z.array(IdentitySchema).default([]),
});

const policyBlocks = {
  signatures: SignaturePolicySchema.optional(),
  provenance: ProvenancePolicySchema.optional(),
};

/** One-file kpromo manifest. */
export const PlainManifestSchema = z.strictObject({
  registries: z.array(RegistrySchema),
  images: ImagesFileSchema,
  ...policyBlocks,
});

/** manifests/<p>/promoter-manifest.yaml; `imagesPath` is deprecated upstream, accepted and ignored. */
export const ThinManifestSchema = z.strictObject({
  registries: z.array(RegistrySchema),
  imagesPath: z.string().optional(),
  ...policyBlocks,
});
