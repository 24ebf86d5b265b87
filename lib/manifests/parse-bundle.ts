// Reading a manifest bundle back (a worker loading it from S3): the bundle schema and the rules the
// loader enforced while building it, so that a bundle nobody loaded from reviewed manifests (written
// by hand, by an older release, or altered) is refused before a phase acts on it.
import { ManifestBundleSchema, type ManifestBundle } from './bundle';
import { pathText } from './issues';

/** A bundle that is not what the manifest loader writes; `problems` lists every reason. */
export class ManifestBundleError extends Error {
  override readonly name = 'ManifestBundleError';
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    super(`invalid manifest bundle: ${shown.join('; ')}${more}`);
  }
}

const MAX_PROBLEMS_SHOWN = 10;

/** Parses and checks a bundle (JSON text, bytes, or an already parsed value); throws ManifestBundleError. */
export function parseManifestBundle(json: unknown): ManifestBundle {
  let value = json;
  if (typeof json === 'string' || json instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8'));
    } catch (err) {
      throw new ManifestBundleError([`not JSON (${(err as Error).message})`]);
    }
  }
  const parsed = ManifestBundleSchema.safeParse(value);
  if (!parsed.success) {
    throw new ManifestBundleError(
      parsed.error.issues.map((i) => `${manifestFileOf(value, i.path)}${pathText(i.path as (string | number)[]) || '(top)'}: ${i.message}`),
    );
  }
  const problems = bundleRuleProblems(parsed.data);
  if (problems.length > 0) throw new ManifestBundleError(problems);
  return parsed.data;
}

/** `file: ` of the project a schema issue is in, when the bundle names it: where its reviewers look. */
function manifestFileOf(value: unknown, path: PropertyKey[]): string {
  if (path[0] !== 'projects' || typeof path[1] !== 'number') return '';
  const file = (value as { projects?: { file?: unknown }[] })?.projects?.[path[1]]?.file;
  return typeof file === 'string' && file.length > 0 && file.length <= 1024 ? `${file}: ` : '';
}

/** The loader's rules that span fields: the same ones a manifest is held to (see project.ts, conflicts.ts). */
function bundleRuleProblems(bundle: ManifestBundle): string[] {
  const problems: string[] = [];
  // destination repository -> tag -> [digest, project]
  const claims = new Map<string, Map<string, [string, string]>>();
  bundle.projects.forEach((p, i) => {
    const at = `projects[${i}] (${p.name})`;
    const previous = bundle.projects[i - 1];
    if (previous && !(previous.name < p.name)) problems.push(`${at}: projects must be sorted by name, each name once`);
    if (new Set(p.destinations).size !== p.destinations.length) problems.push(`${at}: a destination is listed twice`);
    if (p.destinations.includes(p.source)) problems.push(`${at}: registry ${p.source} is both the source and a destination`);
    const names = new Set<string>();
    for (const img of p.images) {
      if (names.has(img.name)) problems.push(`${at}: image ${img.name} is listed twice`);
      names.add(img.name);
      const tags = new Map<string, string>();
      for (const [digest, list] of Object.entries(img.dmap)) {
        if (new Set(list).size !== list.length) problems.push(`${at}: image ${img.name}: a tag of ${digest} is listed twice`);
        for (const tag of list) {
          const other = tags.get(tag);
          if (other !== undefined && other !== digest) problems.push(`${at}: tag ${tag} of image ${img.name} is claimed by ${other} and ${digest}`);
          tags.set(tag, digest);
        }
      }
      for (const dest of p.destinations) {
        const repo = `${dest}/${img.name}`;
        let repoClaims = claims.get(repo);
        if (!repoClaims) claims.set(repo, (repoClaims = new Map<string, [string, string]>()));
        for (const [tag, digest] of tags) {
          const claim = repoClaims.get(tag);
          if (claim && claim[0] !== digest) {
            const [theirs, project] = claim;
            problems.push(
              `${at}: tag ${tag} would point ${repo} at ${digest}, but project ${project} promotes ${theirs} with that tag into the same repository`,
            );
          } else if (!claim) repoClaims.set(tag, [digest, p.name]);
        }
      }
    }
  });
  return problems;
}
