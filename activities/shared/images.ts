/**
 * The image digests in place at their destinations: what Sign, Attest and the nightly
 * re-mirroring work on (./in-place.ts reads them for Sign and Attest, the mirror from its bundle).
 */
import type { RepositoryRef } from '../../lib/oci/reference';

export interface InPlaceDestination {
  ref: RepositoryRef;
  /** 0: the primary (production); higher: a mirror. */
  index: number;
  tags: string[];
  promotedNow: boolean;
  /** A fallback tag Promote wrote there (the source's referrers): Sign and Attest merge into it. */
  fallbackTag?: string;
}

export interface InPlaceImage {
  project: string;
  image: string;
  digest: string;
  source: RepositoryRef;
  /** Sorted by index: the first is where signatures are made. */
  destinations: InPlaceDestination[];
}
