// SLSA provenance v1 policy check for one image digest. Accepts a sigstore
// bundle (cosign v3 `attest`, OCI referrer) or a bare DSSE envelope (cosign's
// legacy `.att` layer).
import { parseEnvelope, verifyEnvelope, type DsseEnvelopeJson } from './dsse';
import { errorMessage } from './errors';
import type { VerificationKey } from './signing-keys';
import { IN_TOTO_PAYLOAD_TYPE, SLSA_PROVENANCE_V1 } from './media-types';
import { parseJson } from './oci-artifact';
import { parseSlsaProvenance, parseStatement, statementHasSubjectDigest, type Statement } from './statements';
import { verifyBundle, type KeylessTrust } from './verify-bundle';

export interface ProvenancePolicy {
  digest: string;
  keys?: VerificationKey[];
  keyless?: KeylessTrust;
  /** Allowed builder ids (exact match). Empty means any builder. */
  builders: string[];
  /** Allowed source URI prefixes, matched at a path boundary (sourceUnderPrefix). Empty means any source. */
  sources: string[];
}

export interface ProvenanceVerdict {
  ok: boolean;
  reason: string;
  builderId?: string;
  sourceUris?: string[];
}

function isEnvelope(value: unknown): value is DsseEnvelopeJson {
  return !!value && typeof value === 'object' && 'payloadType' in value && 'signatures' in value;
}

function verifiedStatement(input: unknown, policy: ProvenancePolicy): Statement | string {
  if (isEnvelope(input)) {
    const env = parseEnvelope(input);
    if (!verifyEnvelope(env, policy.keys ?? [])) return 'DSSE signature does not verify with any configured key';
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return `DSSE payloadType ${env.payloadType} is not in-toto`;
    return parseStatement(Buffer.from(env.payload, 'base64'));
  }
  const result = verifyBundle(input as never, { keys: policy.keys, keyless: policy.keyless });
  if (!result.ok) return result.errors.join('; ');
  if (!result.statement) return 'bundle holds no in-toto statement';
  return result.statement;
}

export function verifySlsaProvenance(envelopeOrBundle: unknown, policy: ProvenancePolicy): ProvenanceVerdict {
  let input = envelopeOrBundle;
  try {
    if (Buffer.isBuffer(input) || typeof input === 'string') input = parseJson<unknown>(input, 'provenance');
    const statement = verifiedStatement(input, policy);
    if (typeof statement === 'string') return { ok: false, reason: statement };
    if (!statementHasSubjectDigest(statement, policy.digest)) {
      return { ok: false, reason: `provenance subject does not name ${policy.digest}` };
    }
    if (statement.predicateType !== SLSA_PROVENANCE_V1) {
      return { ok: false, reason: `predicateType ${statement.predicateType} is not ${SLSA_PROVENANCE_V1}` };
    }
    const prov = parseSlsaProvenance(statement);
    if (policy.builders.length > 0 && !policy.builders.includes(prov.builderId)) {
      return { ok: false, reason: `builder ${prov.builderId} is not allowed`, builderId: prov.builderId, sourceUris: prov.sourceUris };
    }
    // Every recorded source must be allowed: one allowed value beside a foreign one is not enough.
    const allowed = (uri: string): boolean => policy.sources.some((prefix) => sourceUnderPrefix(uri, prefix));
    if (policy.sources.length > 0 && (prov.sourceUris.length === 0 || !prov.sourceUris.every(allowed))) {
      return {
        ok: false,
        reason: `source ${prov.sourceUris.filter((u) => !allowed(u)).join(', ') || '(none recorded)'} is not under an allowed prefix`,
        builderId: prov.builderId,
        sourceUris: prov.sourceUris,
      };
    }
    return { ok: true, reason: 'verified', builderId: prov.builderId, sourceUris: prov.sourceUris };
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}

// What may follow a repository URI and still name that repository: a path below it, its ref
// (`@refs/heads/main`), a query or a fragment (a subdirectory, as in `#sub/dir`).
const BOUNDARY = new Set(['/', '@', '?', '#']);
// After a ref only a query or fragment: `@refs/heads/main/evil` is another branch.
const AFTER_REF = new Set(['?', '#']);

/**
 * Whether a provenance source URI is under an allowed prefix, at a path boundary so that
 * `git+https://github.com/org/repo` does not admit `git+https://github.com/org/repo-evil`:
 * - a prefix ending in `/` admits what is under it (`git+https://github.com/org/` any repository of org);
 * - otherwise the URI is the prefix itself, or goes on with `/`, `@` (a ref), `?` or `#`, or with
 *   `.git` followed by one of those or the end (`…/repo.git@refs/tags/v1`);
 * - a prefix that already names a ref (an `@` in its path) admits only `?` or `#` after it;
 * - the part after the prefix may not climb with `.` or `..` path segments.
 */
export function sourceUnderPrefix(uri: string, prefix: string): boolean {
  if (prefix === '' || !uri.startsWith(prefix)) return false;
  let rest = uri.slice(prefix.length);
  if (/(^|\/)\.\.?(\/|$|[@?#])/.test(rest)) return false;
  if (rest === '' || prefix.endsWith('/')) return true;
  const allowedNext = namesRef(prefix) ? AFTER_REF : BOUNDARY;
  if (!namesRef(prefix) && rest.startsWith('.git')) rest = rest.slice(4);
  return rest === '' || allowedNext.has(rest[0]!);
}

/** `scheme://authority/path@ref`: an `@` after the authority (not `git@host` user info). */
function namesRef(prefix: string): boolean {
  const scheme = prefix.indexOf('://');
  const pathStart = prefix.indexOf('/', scheme < 0 ? 0 : scheme + 3);
  return pathStart >= 0 && prefix.indexOf('@', pathStart) >= 0;
}
