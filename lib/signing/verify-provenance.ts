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
  /** Allowed source URI prefixes. Empty means any source. */
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
    const allowed = (uri: string): boolean => policy.sources.some((prefix) => uri.startsWith(prefix));
    if (policy.sources.length > 0 && (prov.sourceUris.length === 0 || !prov.sourceUris.every(allowed))) {
      return {
        ok: false,
        reason: `source ${prov.sourceUris.filter((u) => !allowed(u)).join(', ') || '(none recorded)'} is not under an allowed prefix`,
        builderId: prov.builderId, sourceUris: prov.sourceUris,
      };
    }
    return { ok: true, reason: 'verified', builderId: prov.builderId, sourceUris: prov.sourceUris };
  } catch (err) {
    return { ok: false, reason: errorMessage(err) };
  }
}
