/** Where the CLI writes: results to stdout, human notes to stderr (so `--json` stdout stays pure JSON). */
import type { ManifestError } from '../lib/manifests';

export interface Output {
  print(text: string): void;
  info(text: string): void;
  json(value: unknown): void;
}

export const processOutput: Output = {
  print: (t) => process.stdout.write(`${t}\n`),
  info: (t) => process.stderr.write(`${t}\n`),
  json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
};

export function printManifestErrors(errors: ManifestError[], out: Output, json?: boolean): void {
  if (json) {
    out.json({ valid: false, errors });
    return;
  }
  for (const e of errors) out.print(`${e.file}:${e.line}: ${e.rule}: ${e.message}`);
  out.print(`${errors.length} error(s): nothing was started`);
}
