/**
 * A run's failures, however many. The report itself lists the first MAX_FAILURES_STORED; when a
 * run has more, every failure goes to S3 in parts of that size as they come (written once each,
 * so a retried report rewrites nothing), and the report names the parts. A million LOST edges
 * (a wiped staging repository under the whole corpus) therefore never sit in memory at once:
 * listed in one report they took the worker past 2 GiB.
 */
import type { Failure } from '../../lib/run/outcomes';
import { MAX_FAILURES_STORED } from '../../lib/run/report';
import type { DocumentStore } from '../../lib/storage/audit-store';
import { writeOnce } from './write-once';

export class FailureParts {
  /** Failures by code, all of them counted. */
  readonly byCode: Record<string, number> = {};
  /** The parts written (none while the report itself holds every failure). */
  readonly keys: string[] = [];
  count = 0;
  private part: Failure[] = [];
  private firstPart: Failure[] | undefined;

  constructor(
    private readonly store: DocumentStore,
    private readonly partKey: (n: number) => string,
  ) {}

  async add(f: Failure): Promise<void> {
    if (this.part.length === MAX_FAILURES_STORED) await this.writePart();
    this.count++;
    this.byCode[f.code] = (this.byCode[f.code] ?? 0) + 1;
    this.part.push(f);
  }

  /** The first MAX_FAILURES_STORED, for the report itself: the first part. */
  get listed(): Failure[] {
    return this.firstPart ?? this.part;
  }

  /** Writes the last part, if the failures ran over the report's own list. */
  async close(): Promise<void> {
    if (this.keys.length > 0 && this.part.length > 0) await this.writePart();
  }

  private async writePart(): Promise<void> {
    const key = this.partKey(this.keys.length);
    // The parts follow from the stored documents alone: an earlier attempt's part is this one.
    await writeOnce(this.store, key, { failures: this.part });
    this.keys.push(key);
    this.firstPart ??= this.part;
    this.part = [];
  }
}
