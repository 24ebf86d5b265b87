/**
 * The audit: nothing reaches production or a mirror that no manifest asked for. Types of its input,
 * findings and report, and the judgements themselves, free of I/O: the activity reads the
 * registries (activities/phases/audit.ts) and asks these what to flag.
 */
import type { RepositoryRef } from '../oci/reference';

type FindingKind = 'rogue-tag' | 'moved-tag' | 'unsigned' | 'unattested';
const FINDING_KINDS: readonly FindingKind[] = ['rogue-tag', 'moved-tag', 'unsigned', 'unattested'];

export interface AuditFinding {
  kind: FindingKind;
  /** host/repository */
  repository: string;
  tag?: string;
  /** What the registry holds there (a tag's digest, or the unsigned digest). */
  digest?: string;
  /** What the manifests want the tag to carry (moved-tag). */
  expected?: string;
  detail: string;
}

/** The scheduled (or manual) audit of everything the manifests name. */
export interface AuditInput {
  /** The bundle to audit against; unset: the bundle of the last confirmed promotion. */
  bundleKey?: string;
  /** HEAD every wanted tag and verify every signature, instead of trusting the promoter's records. */
  verify?: boolean;
}

/** One push a registry reported (a distribution notification), as the receiver passes it on. */
export interface PushEvent {
  host: string;
  repository: string;
  digest: string;
  tag?: string;
}

export interface AuditPushesInput {
  events: PushEvent[];
  bundleKey?: string;
  /**
   * First look (false): a tag no manifest lists is returned as a suspect, not flagged: a promotion
   * under way pushes its tags before its manifests become the latest and before its tag record is
   * written. The second look, a little later, flags what is still unexplained.
   */
  final: boolean;
  /** This look's number in its run: its report (written when something is flagged) is audits/<workflow>/<run>/events-<batch>.json. */
  batch: number;
}

export interface AuditPushesResult {
  findings: AuditFinding[];
  suspects: PushEvent[];
  /** Pushes outside the manifests' repositories, or by digest alone, or of signatures: not judged. */
  ignored: number;
  reportKey?: string;
}

export type FindingCounts = Record<FindingKind, number>;

export interface AuditReport {
  status: 'clean' | 'flagged';
  bundleKey: string;
  verify: boolean;
  repositories: number;
  /** Listed digests (dmap entries) at their destinations, each destination counted. */
  digests: number;
  tagsListed: number;
  counts: FindingCounts;
  findings: AuditFinding[];
  /** Registry requests the worker sent during the audit (all its activities at the time). */
  requests: number;
  reportKey: string;
  startedAt: string;
  finishedAt: string;
}

/** State of the event-driven audit, as its query and the next run (continue-as-new) see it. */
export interface AuditEventsState {
  events: number;
  flagged: number;
  /** The most recent findings, newest last. */
  recent: AuditFinding[];
}

export interface AuditEventsInput {
  bundleKey?: string;
  state?: AuditEventsState;
  /** Pushes signalled but not yet judged when the previous run continued as new. */
  pending?: PushEvent[];
}

/** What the manifests want in one destination repository (lib/run/plan.ts inventoryQueries). */
export interface WantedRepository {
  ref: RepositoryRef;
  tags: Map<string, string>;
  taglessDigests: Set<string>;
}

/** cosign's `.sig`/`.att`/`.sbom` tags and the referrers fallback index tag: the promoter's, or evidence, never an image. */
export function isSignatureTag(tag: string): boolean {
  return /^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$/.test(tag);
}

function emptyCounts(): FindingCounts {
  return { 'rogue-tag': 0, 'moved-tag': 0, unsigned: 0, unattested: 0 };
}

export function countFindings(findings: AuditFinding[]): FindingCounts {
  const c = emptyCounts();
  for (const f of findings) c[f.kind]++;
  return c;
}

/** Listed tags no manifest asks for in this repository (signature tags aside): rogue unless the promoter placed them. */
export function unlistedTags(want: WantedRepository, listed: string[]): string[] {
  return listed.filter((t) => !want.tags.has(t) && !isSignatureTag(t)).sort();
}

export function rogueTag(repository: string, tag: string, digest: string): AuditFinding {
  return { kind: 'rogue-tag', repository, tag, digest, detail: `${repository}:${tag} (${digest}) is in no manifest and was not placed by the promoter` };
}

export function movedTag(repository: string, tag: string, digest: string, expected: string): AuditFinding {
  return { kind: 'moved-tag', repository, tag, digest, expected, detail: `${repository}:${tag} points at ${digest}, the manifests want ${expected}` };
}

export function unsigned(repository: string, digest: string, why: string): AuditFinding {
  return { kind: 'unsigned', repository, digest, detail: `${repository}@${digest}: ${why}` };
}

export function unattested(repository: string, digest: string): AuditFinding {
  return { kind: 'unattested', repository, digest, detail: `${repository}@${digest}: no promotion attestation that verifies with the promoter's trust` };
}

/** Moved tags among what the inventory read: every wanted tag that exists and carries another digest. */
export function movedTags(want: WantedRepository, repository: string, seen: ReadonlyMap<string, string>): AuditFinding[] {
  const out: AuditFinding[] = [];
  for (const [tag, expected] of want.tags) {
    const digest = seen.get(tag);
    if (digest && digest !== expected) out.push(movedTag(repository, tag, digest, expected));
  }
  return out;
}

/** A line for the UI and the CLI. */
export function describeCounts(c: FindingCounts): string {
  const parts = FINDING_KINDS.filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  return parts.length === 0 ? 'nothing flagged' : `flagged: ${parts.join(', ')}`;
}
