/**
 * What a source digest carries (its `.sig`, `.att` and referrers), read once per run for every check
 * that needs it: Provenance and Validate ask the same three questions of the same digests, and
 * behind a 50 ms round trip the second asking was a whole phase's time on the source host.
 *
 * Kept per run, never across runs: a digest signed after a failed run must be seen by the next one.
 * The checks verify these bytes themselves; reusing them a phase later is the same as reading them
 * then. A failed read is forgotten, so the next check asks again.
 */
import { LRUCache } from 'lru-cache';
import type { DigestRef } from '../../lib/oci';
import { remembered } from '../../lib/util/remembered';
import type { FoundSignatures } from '../../lib/signing';
import type { RegistryPort } from './registry-port';

/** Digests kept (each a few KiB with signatures, less without); the least recently used go first. */
const MAX_DIGESTS = 4096;
/** Long enough for Provenance to Validate of a large run; a run that takes longer reads again. */
const TTL_MS = 15 * 60_000;

export class SourceEvidence {
  private readonly found = new LRUCache<string, Promise<FoundSignatures>>({ max: MAX_DIGESTS, ttl: TTL_MS });

  constructor(private readonly registry: Pick<RegistryPort, 'findSignatures'>) {}

  /** The evidence of `target` as this run (`run`: its workflow and run id) first read it. */
  of(run: string, target: DigestRef): Promise<FoundSignatures> {
    return remembered(this.found, `${run}|${target.host}/${target.repository}@${target.digest}`, () => this.registry.findSignatures(target));
  }
}
