// Verification keys named in policy blocks: inline PEM or a file next to the
// manifest. They are read at validation time so the bundle carries the PEM
// text itself (public keys are not secret) and workers need no manifest tree.
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ManifestError } from './types';
import type { PathSegment, YamlSource } from './yaml-source';

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?\r?\n?-----END \1-----/g;

export type PemCheck = { pem: string } | { rule: 'key-format' | 'key-private'; message: string };

/**
 * Accepts text holding exactly one PEM public key and returns it normalized
 * (LF line ends, one trailing newline). Never echoes the text: it could be a
 * private key pasted by mistake.
 */
export function checkPublicKeyPem(text: string): PemCheck {
  const blocks = [...text.matchAll(PEM_BLOCK_RE)];
  if (blocks.some((b) => b[1]!.includes('PRIVATE KEY'))) {
    return { rule: 'key-private', message: 'holds a PRIVATE key; list public keys only' };
  }
  if (blocks.length !== 1) {
    return {
      rule: 'key-format',
      message: blocks.length === 0 ? 'is not a PEM public key' : `holds ${blocks.length} PEM blocks; list one key per entry`,
    };
  }
  const block = blocks[0]!;
  if (block[1] !== 'PUBLIC KEY') return { rule: 'key-format', message: `holds a PEM "${block[1]}", not a "PUBLIC KEY"` };
  const pem = block[0].replace(/\r\n/g, '\n').trim() + '\n';
  try {
    createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    return { rule: 'key-format', message: `is not a valid public key (${(e as Error).message})` };
  }
  return { pem };
}

/** Loads `entries` (at `at` in `src`), resolving paths against `baseDir`; `files` are the key files read. */
export async function loadKeys(
  src: YamlSource,
  entries: readonly (string | undefined)[],
  at: readonly PathSegment[],
  baseDir: string,
): Promise<{ pems: string[]; errors: ManifestError[]; files: string[] }> {
  const pems: string[] = [];
  const files: string[] = [];
  const errors: ManifestError[] = [];
  await Promise.all(
    entries.map(async (entry, i) => {
      if (entry === undefined) return; // not a string: the schema reports it
      const p = [...at, i];
      const inline = entry.trimStart().startsWith('-----BEGIN');
      let text: string;
      let label: string;
      if (inline) {
        text = entry;
        label = 'inline key';
      } else {
        label = `key file ${JSON.stringify(entry)}`;
        const file = path.resolve(baseDir, entry);
        try {
          text = await readFile(file, 'utf8');
          files.push(file);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? 'error';
          errors.push(src.error(p, 'key-file', `${label} cannot be read (${code}); paths are relative to the manifest's folder`));
          return;
        }
      }
      const checked = checkPublicKeyPem(text);
      if ('pem' in checked) pems[i] = checked.pem;
      else errors.push(src.error(p, checked.rule, `${label} ${checked.message}`));
    }),
  );
  // Keep file order, drop failures and repeats.
  return { pems: [...new Set(pems.filter((x) => x !== undefined))], errors, files };
}
