/**
 * Phase results are audit records, written once. An activity first looks for the result an earlier
 * attempt of it already wrote (it finished, then its worker died before Temporal heard): that
 * result is returned as it is, and nothing is done again. Two attempts racing (a worker thought
 * dead that was not): the first result written wins, and the later one returns it.
 */
import type { ResultDocument } from '../../lib/run/documents';
import type { ActivityDeps } from './deps';
import { writeOnce } from './write-once';

/** The summary of a result document an earlier attempt wrote, if any. */
export async function earlierResult<S>(deps: ActivityDeps, key: string): Promise<S | undefined> {
  return (await deps.store.getJsonIfExists<ResultDocument<S>>(key))?.summary;
}

/** Writes the result document once; returns the summary that stands (ours, or an earlier attempt's). */
export async function writeResult<S>(deps: ActivityDeps, key: string, doc: ResultDocument<S>): Promise<S> {
  const stands = await writeOnce(deps.store, key, doc);
  if (!stands.ours) deps.log.warn({ key }, 'another attempt of this activity wrote its result first; keeping that one');
  return stands.value.summary;
}
