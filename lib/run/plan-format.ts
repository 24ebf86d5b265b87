/**
 * The plan as the Plan phase stores it in S3 and the later phases read it (lib/run/plan.ts builds
 * and walks it): every edge the manifests ask for, with its verdict.
 */
import type { RepositoryRef } from '../oci/reference';

/** One promotion edge: a (destination registry, image, digest, tag) the manifests ask for. */
export type EdgeVerdict = 'promote' | 'present' | 'tag-move' | 'lost';

export interface PlanEdge {
  project: string;
  image: string;
  digest: string;
  /** null for a tagless digest (promoted by digest only). */
  tag: string | null;
  source: RepositoryRef;
  destination: RepositoryRef;
  /** Index of the destination registry in its project: 0 is the primary, the rest are mirrors. */
  destinationIndex: number;
  verdict: EdgeVerdict;
  /** For tag-move: the digest the destination tag points at now. */
  currentDigest?: string;
}

export interface EdgeCounts {
  total: number;
  promote: number;
  present: number;
  tagMoves: number;
  lost: number;
  /** Edges asked for more than once (same destination listed twice, or by two projects). */
  overlaps: number;
}

/**
 * The plan as stored: the manifests' shape with a verdict per edge, compact enough for a million
 * edges (a few bytes each). Read it with planEdges() (lib/run/plan.ts), which yields PlanEdges.
 */
export interface Plan {
  version: 2;
  workflowId: string;
  runId: string;
  bundleSha256: string;
  createdAt: string;
  projects: PlannedProject[];
  counts: EdgeCounts;
  registries: string[];
  /** Destination repo key -> the `sha256-…` tags it listed at plan time (signatures already there). */
  signatureTags: Record<string, string[]>;
  /** Destination repo key -> digest -> the signature the promoter itself wrote or verified there. */
  signedByPromoter: Record<string, Record<string, string>>;
  /** Destination repo keys that listed no tags when planned. */
  newRepositories: string[];
}

export interface PlannedProject {
  name: string;
  /** Registry names as the manifest writes them (host[:port][/prefix]). */
  source: string;
  destinations: string[];
  images: { name: string; digests: PlannedDigest[] }[];
}

/** Verdict letters: promote, present (=), tag move, lost; `-` an edge another one already asked for (an overlap). */
export type VerdictLetter = 'P' | '=' | 'M' | 'L' | '-';

export interface PlannedDigest {
  digest: string;
  /** Its tags; none for a digest promoted by digest only. */
  tags: string[];
  /** One letter per edge: for each destination in order, one per tag (one for a tagless digest). */
  verdicts: string;
  /** Tag moves: `${destinationIndex}:${tag}` -> the digest the destination tag points at now. */
  moves?: Record<string, string>;
}
