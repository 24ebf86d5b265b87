// Assembling a LoadResult: ordered findings, the bundle (only when clean), counts.
import type { ManifestBundle, Project } from './bundle';
import { countBundle } from './counts';
import type { LoadResult, ManifestError } from './types';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function compareFindings(a: ManifestError, b: ManifestError): number {
  return cmp(a.file, b.file) || a.line - b.line || (a.column ?? 0) - (b.column ?? 0) || cmp(a.rule, b.rule) || cmp(a.message, b.message);
}

export function finish(projects: Project[], errors: ManifestError[], warnings: ManifestError[]): LoadResult {
  const sorted: ManifestBundle = { version: 1, projects: [...projects].sort((a, b) => cmp(a.name, b.name)) };
  errors.sort(compareFindings);
  warnings.sort(compareFindings);
  const result: LoadResult = { errors, warnings, counts: countBundle(sorted) };
  if (errors.length === 0) result.bundle = sorted;
  return result;
}

/** A finding about a file or folder as a whole (line 0: no line applies). */
export function wholeFile(file: string, rule: string, message: string, line = 0): ManifestError {
  return { file, line, rule, message };
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
