/**
 * Sign and Attest run as one activity per part of the images (lib/run/shard.ts), all at once, so
 * that every worker on the task queue takes a share; their summaries add up to the phase's.
 */
import type { PhaseOutcome } from '../lib/run/outcomes';
import type { Shard } from '../lib/run/input';

export async function runInParts<T extends PhaseOutcome>(parts: number, run: (shard: Shard | undefined) => Promise<T>): Promise<T> {
  if (parts <= 1) return run(undefined);
  const results = await Promise.all(Array.from({ length: parts }, (_, index) => run({ index, of: parts })));
  return addUp(results);
}

/** Numbers add up; the first part's result key stands for the phase, all of them are listed. */
export function addUp<T extends PhaseOutcome>(parts: T[]): T {
  const total = { ...parts[0]! } as Record<string, unknown>;
  for (const part of parts.slice(1)) {
    for (const [k, v] of Object.entries(part)) if (typeof v === 'number') total[k] = ((total[k] as number) ?? 0) + v;
  }
  return { ...(total as T), resultKeys: parts.map((p) => p.resultKey) };
}
