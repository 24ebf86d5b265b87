/**
 * The latest-bundle pointer (LATEST_BUNDLE_KEY): which manifests the nightly re-mirroring keeps
 * signed. It moves only forward and only for a confirmed run that succeeded: a failed or partial
 * run never moves it, and a run that started before the one it points at (two runs overlapping,
 * the older finishing last) never moves it back. A conditional replace (If-Match on the ETag
 * read) keeps two reports racing from undoing each other's comparison.
 */
import { AuditObjectChanged } from '../../lib/storage/audit-store';
import { LATEST_BUNDLE_KEY } from '../../lib/run/storage-keys';
import type { DocumentStore } from '../../lib/storage/audit-store';

export interface LatestBundlePointer {
  bundleKey: string;
  bundleSha256: string;
  workflowId: string;
  runId: string;
  /** When the run started (workflow time): what orders two runs. */
  startedAt: string;
  /** When its report was written. */
  at: string;
}

/** Attempts before giving up on a pointer other reports keep replacing (each attempt re-reads it). */
const MAX_ATTEMPTS = 5;

/** Whether `next` is newer than `current`: started later (a pointer written before startedAt was kept: its `at`). */
function isNewer(next: LatestBundlePointer, current: Partial<LatestBundlePointer>): boolean {
  const theirs = Date.parse(current.startedAt ?? current.at ?? '');
  if (Number.isNaN(theirs)) return true;
  const ours = Date.parse(next.startedAt);
  if (ours !== theirs) return ours > theirs;
  // Started in the same millisecond: a fixed order, so two reports agree on which one stands.
  return `${next.workflowId}/${next.runId}` > `${current.workflowId ?? ''}/${current.runId ?? ''}`;
}

/** Points LATEST_BUNDLE_KEY at `next` unless it already points at a run as new or newer; true when it moved. */
export async function advanceLatestBundle(store: DocumentStore, next: LatestBundlePointer): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const current = await store.readJsonVersioned<Partial<LatestBundlePointer>>(LATEST_BUNDLE_KEY);
    if (current && (current.value.runId === next.runId || !isNewer(next, current.value))) return false;
    try {
      await store.replaceJsonIfUnchanged(LATEST_BUNDLE_KEY, next, current?.stored.etag);
      return true;
    } catch (err) {
      if (!(err instanceof AuditObjectChanged) || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}
