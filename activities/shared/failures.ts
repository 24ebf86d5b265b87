/** The one way an error becomes a Failure in a phase's result: its code where it has one, its message. */
import type { Failure, PhaseName } from '../../lib/run/outcomes';

export function failureOf(edge: string, phase: PhaseName, err: unknown, fallbackCode: string): Failure {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return { edge, phase, code: typeof code === 'string' ? code : fallbackCode, error: err instanceof Error ? err.message : String(err) };
}
