/** Adding up counts: transfer figures of batches, summaries of parts. */
import type { TransferCounts } from './outcomes';

export const emptyTransfer = (): TransferCounts => ({
  blobsUploaded: 0,
  blobsMounted: 0,
  blobsSkipped: 0,
  bytesUploaded: 0,
  manifestsWritten: 0,
  referrersCopied: 0,
  requests: 0,
});

/** Field-by-field sum of two records of counts (the keys of `a`). */
export function sumCounts<T extends { [K in keyof T]: number }>(a: T, b: T): T {
  const out = { ...a };
  // A key one side lacks (a record from an older release) counts as 0.
  for (const k of Object.keys(a) as (keyof T)[]) out[k] = ((a[k] ?? 0) + (b[k] ?? 0)) as T[keyof T];
  return out;
}

export const addTransfer = (a: TransferCounts, b: TransferCounts): TransferCounts => sumCounts(a, b);
