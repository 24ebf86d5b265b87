// Result and diagnostic types shared by both manifest layouts.
import type { ManifestBundle } from './bundle';

/** One finding about a manifest; `file` is relative to the root that was loaded, with `/` separators. */
export interface ManifestError {
  file: string;
  /** 1-based; 0 when the finding is about a file or folder as a whole. */
  line: number;
  /** 1-based, when known. */
  column?: number;
  /** Short stable id of the rule, e.g. `digest-format`. */
  rule: string;
  message: string;
}

export interface BundleCounts {
  projects: number;
  /** `- name:` entries, summed over projects. */
  images: number;
  /** Distinct digests per project, summed over projects. */
  digests: number;
  /** (digest, tag) pairs of each image, summed. */
  tagPairs: number;
  /** Distinct (destination repository, digest, tag); a tagless digest counts once. */
  uniqueEdges: number;
}

export interface ProjectCounts {
  images: number;
  digests: number;
  tagPairs: number;
  destinations: number;
  uniqueEdges: number;
}

export interface LoadResult {
  /** Present only when `errors` is empty. */
  bundle?: ManifestBundle;
  /** Every error of the run, sorted by file, line, column, rule. */
  errors: ManifestError[];
  warnings: ManifestError[];
  /** Counts of what did load; best effort (invalid entries left out) when there are errors. */
  counts: BundleCounts;
}
