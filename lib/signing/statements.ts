// in-toto Statement v1 builders and SLSA provenance v1 parsing.
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_STATEMENT_V01,
  IN_TOTO_STATEMENT_V1,
  PROMOTION_PREDICATE_TYPE,
  SLSA_PROVENANCE_V1,
  assertDigest,
} from './media-types';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface Statement<P = Record<string, unknown>> {
  _type: string;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: P;
}

function digestMap(digest: string): Record<string, string> {
  assertDigest(digest);
  return { sha256: digest.slice('sha256:'.length) };
}

export function inTotoStatement<P>(subject: ResourceDescriptor[], predicateType: string, predicate: P): Statement<P> {
  return { _type: IN_TOTO_STATEMENT_V1, subject, predicateType, predicate };
}

/** What cosign v3 `sign` puts in its DSSE bundle: subject digest, empty predicate. */
export function cosignSignStatement(digest: string, annotations?: Record<string, string>): Statement {
  return inTotoStatement([{ digest: digestMap(digest), annotations: annotations ?? {} }], COSIGN_SIGN_PREDICATE_TYPE, {});
}

export interface PromotionPredicate {
  source: { ref: string };
  destinations: { ref: string }[];
  run: { id: string };
  builder: { id: string };
  promotedAt: string;
}

/**
 * The promoter's attestation, one per promoted digest, predicateType
 * `https://promoter.k8s.io/promotion/v1`. The subject name is the image
 * repository (without tag or digest), as cosign writes for attestations.
 */
export function promotionStatement(input: {
  subjectName: string;
  digest: string;
  sourceRef: string;
  destinationRefs: string[];
  runId: string;
  builderId: string;
  time: Date | string;
}): Statement<PromotionPredicate> {
  const time = typeof input.time === 'string' ? new Date(input.time) : input.time;
  if (Number.isNaN(time.getTime())) throw new Error('promotionStatement: invalid time');
  return inTotoStatement([{ name: input.subjectName, digest: digestMap(input.digest) }], PROMOTION_PREDICATE_TYPE, {
    source: { ref: input.sourceRef },
    destinations: input.destinationRefs.map((ref) => ({ ref })),
    run: { id: input.runId },
    builder: { id: input.builderId },
    promotedAt: time.toISOString(),
  });
}

/** Parses an in-toto statement (v1 or v0.1, as cosign attest still writes v0.1). */
export function parseStatement(bytes: Buffer | string): Statement {
  let s: Statement;
  try {
    s = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8')) as Statement;
  } catch {
    throw new Error('in-toto statement: not valid JSON');
  }
  if (s?._type !== IN_TOTO_STATEMENT_V1 && s?._type !== IN_TOTO_STATEMENT_V01) {
    throw new Error(`in-toto statement: unexpected _type ${String(s?._type)}`);
  }
  if (!Array.isArray(s.subject) || typeof s.predicateType !== 'string') {
    throw new Error('in-toto statement: missing subject or predicateType');
  }
  return s;
}

export function statementHasSubjectDigest(statement: Statement, digest: string): boolean {
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : undefined;
  return !!hex && statement.subject.some((s) => s?.digest?.sha256 === hex);
}

export interface SlsaProvenanceV1 {
  buildType: string;
  builderId: string;
  externalParameters: Record<string, unknown>;
  resolvedDependencies: ResourceDescriptor[];
  /** Source URIs: resolvedDependencies[].uri and externalParameters source/repository/uri/workflow.repository. */
  sourceUris: string[];
}

// Where common builders record the source: generic `source`/`repository`/`uri`
// keys and GitHub Actions' `workflow.repository`. Other parameters are not
// trusted as a source, so a free-form parameter cannot satisfy the policy.
function sourceParameters(params: Record<string, unknown>): string[] {
  const workflow = params.workflow as Record<string, unknown> | undefined;
  return [params.source, params.repository, params.uri, workflow?.repository].filter((v): v is string => typeof v === 'string' && v !== '');
}

/** Reads the fields of a SLSA provenance v1 predicate that a promotion policy checks. */
export function parseSlsaProvenance(statement: Statement): SlsaProvenanceV1 {
  if (statement.predicateType !== SLSA_PROVENANCE_V1) {
    throw new Error(`predicateType is ${statement.predicateType}, expected ${SLSA_PROVENANCE_V1}`);
  }
  const p = statement.predicate as {
    buildDefinition?: { buildType?: unknown; externalParameters?: unknown; resolvedDependencies?: unknown };
    runDetails?: { builder?: { id?: unknown } };
  };
  const builderId = p?.runDetails?.builder?.id;
  if (typeof builderId !== 'string' || builderId === '') throw new Error('provenance: runDetails.builder.id missing');
  const buildType = p.buildDefinition?.buildType;
  if (typeof buildType !== 'string') throw new Error('provenance: buildDefinition.buildType missing');
  const externalParameters = (p.buildDefinition?.externalParameters ?? {}) as Record<string, unknown>;
  const deps = Array.isArray(p.buildDefinition?.resolvedDependencies) ? (p.buildDefinition.resolvedDependencies as ResourceDescriptor[]) : [];
  // The source is what the build was asked to build: the source parameters; failing those, the first
  // resolved dependency (where builders that record no parameter put the source). Never the other
  // dependencies: libraries, base images and tools are inputs, not the source.
  const params = sourceParameters(externalParameters);
  const first = deps[0]?.uri;
  const uris = params.length > 0 ? params : typeof first === 'string' ? [first] : [];
  return { buildType, builderId, externalParameters, resolvedDependencies: deps, sourceUris: [...new Set(uris)] };
}
