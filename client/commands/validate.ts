// `promoter validate (--manifest FILE | --thin-manifest-dir DIR) [--json]`:
// an offline check of manifests. Touches no registry and no Temporal server.
import path from 'node:path';
import { disallowedRegistries, loadPlainManifest, loadThinManifests, type LoadResult, type ManifestError } from '../../lib/manifests';
import { ALLOWED_REGISTRIES_ENV, AllowedHosts } from '../../lib/oci/allowed-hosts';

export interface ValidateOptions {
  manifest?: string;
  thinManifestDir?: string;
  json?: boolean;
}

interface Sink {
  write(chunk: string): unknown;
}

const EXIT_VALID = 0;
const EXIT_INVALID = 2;

/** Returns the exit code: 0 valid, 2 invalid manifests or bad usage. */
export async function validateCommand(opts: ValidateOptions, out: Sink = process.stdout, err: Sink = process.stderr): Promise<number> {
  const given = [opts.manifest, opts.thinManifestDir].filter((v) => v !== undefined && v !== '');
  if (given.length !== 1) {
    err.write('promoter validate: give exactly one of --manifest FILE or --thin-manifest-dir DIR\n');
    return EXIT_INVALID;
  }
  const result: LoadResult = opts.manifest ? await loadPlainManifest(opts.manifest) : await loadThinManifests(opts.thinManifestDir!);
  // With PROMOTER_ALLOWED_REGISTRIES set, the registries a worker with that setting would refuse (as Setup does).
  if (process.env[ALLOWED_REGISTRIES_ENV]?.trim() && result.bundle) {
    let hosts: AllowedHosts;
    try {
      hosts = AllowedHosts.fromEnv();
    } catch (e) {
      err.write(`promoter validate: ${(e as Error).message}\n`);
      return EXIT_INVALID;
    }
    const refused = disallowedRegistries(result.bundle.projects, (h) => hosts.refusal(h));
    if (refused.length > 0) {
      result.errors.push(...refused);
      delete result.bundle;
    }
  }
  // Findings are relative to the loaded root; show them as paths the user can open.
  const root = opts.manifest ? path.dirname(opts.manifest) : opts.thinManifestDir!;
  const shown = (e: ManifestError): ManifestError => ({ ...e, file: e.file === '.' ? root : path.join(root, e.file) });
  const errors = result.errors.map(shown);
  const warnings = result.warnings.map(shown);
  const valid = errors.length === 0;

  if (opts.json) {
    out.write(`${JSON.stringify({ valid, errors, warnings, counts: result.counts }, null, 2)}\n`);
    return valid ? EXIT_VALID : EXIT_INVALID;
  }
  for (const w of warnings) err.write(`${location(w)}: warning: ${w.rule}: ${w.message}\n`);
  for (const e of errors) err.write(`${location(e)}: ${e.rule}: ${e.message}\n`);
  const c = result.counts;
  const counts = `${c.projects} projects, ${c.images} images, ${c.digests} digests, ${c.uniqueEdges} unique edges`;
  out.write(valid ? `valid: ${counts}\n` : `invalid: ${errors.length} error${errors.length === 1 ? '' : 's'} (counts of what loaded: ${counts})\n`);
  return valid ? EXIT_VALID : EXIT_INVALID;
}

function location(e: ManifestError): string {
  return e.line > 0 ? `${e.file}:${e.line}` : e.file;
}
