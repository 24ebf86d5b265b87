// The operator's list of hosts the worker may speak to (PROMOTER_ALLOWED_REGISTRIES), applied to a
// bundle: one finding per registry a project names that the list refuses, at the line that names
// it. Setup refuses such a bundle before any request; `promoter validate` reports the same.
import type { Project } from './bundle';
import type { ManifestError } from './types';

const REGISTRY_NOT_ALLOWED = 'registry-not-allowed';

/** The host of a registry name ("host[:port]/path"). */
function hostOf(registry: string): string {
  const slash = registry.indexOf('/');
  return slash < 0 ? registry : registry.slice(0, slash);
}

/** Findings for every source or destination whose host `refusal` refuses (it says why, or undefined to allow). */
export function disallowedRegistries(projects: readonly Project[], refusal: (host: string) => string | undefined): ManifestError[] {
  const out: ManifestError[] = [];
  for (const p of projects) {
    const named: [string, number, string][] = [
      [p.source, p.registryLines?.source ?? 0, 'source'],
      ...p.destinations.map((d, i): [string, number, string] => [d, p.registryLines?.destinations[i] ?? 0, i === 0 ? 'primary destination' : 'destination']),
    ];
    for (const [registry, line, role] of named) {
      const why = refusal(hostOf(registry));
      if (why) out.push({ file: p.file, line, rule: REGISTRY_NOT_ALLOWED, message: `${role} registry ${registry}: ${why}` });
    }
  }
  return out;
}

/** "file:line: rule: message" (no line when unknown), as `promoter validate` prints a finding. */
export function formatFinding(e: ManifestError): string {
  return `${e.line > 0 ? `${e.file}:${e.line}` : e.file}: ${e.rule}: ${e.message}`;
}
