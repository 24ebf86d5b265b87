// Verification keys named in policy blocks: inline PEM or a file next to the
// manifest. They are read at validation time so the bundle carries the PEM
// text itself (public keys are not secret) and workers need no manifest tree.
//
// A key path is reviewed as part of the manifests, so it must stay inside the
// manifest tree (a plain manifest's folder; the whole thin layout): relative,
// no `..` that climbs out of it, no symlink that leads out of it, a regular
// file of at most MAX_KEY_FILE_BYTES.
import { createPublicKey } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { MAX_KEY_FILE_BYTES, readBounded, sizeText } from './read-bounded';
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

/** Where key paths are resolved (`base`, the manifest's folder) and the tree they must stay in. */
export interface KeyDirs {
  base: string;
  tree: string;
}

/** Loads `entries` (at `at` in `src`), resolving paths against `dirs.base`; `files` are the key files read. */
export async function loadKeys(
  src: YamlSource,
  entries: readonly (string | undefined)[],
  at: readonly PathSegment[],
  dirs: KeyDirs,
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
        const read = await readKeyFile(dirs, entry);
        if ('rule' in read) {
          errors.push(src.error(p, read.rule, `${label} ${read.message}`));
          return;
        }
        text = read.text;
        files.push(read.file);
      }
      const checked = checkPublicKeyPem(text);
      if ('pem' in checked) pems[i] = checked.pem;
      else errors.push(src.error(p, checked.rule, `${label} ${checked.message}`));
    }),
  );
  // Keep file order, drop failures and repeats.
  return { pems: [...new Set(pems.filter((x) => x !== undefined))], errors, files };
}

type KeyFileRead = { text: string; file: string } | { rule: string; message: string };

const inside = (dir: string, file: string): boolean => {
  const rel = path.relative(dir, file);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
};

/** A key file named by `entry`, relative to `dirs.base` and inside `dirs.tree`, within the size limit. */
async function readKeyFile(dirs: KeyDirs, entry: string): Promise<KeyFileRead> {
  if (path.isAbsolute(entry) || path.win32.isAbsolute(entry)) {
    return { rule: 'key-path-outside', message: "is an absolute path; name key files relative to the manifest's folder, inside the manifest tree" };
  }
  const file = path.resolve(dirs.base, entry);
  if (!inside(dirs.tree, file)) return { rule: 'key-path-outside', message: 'climbs out of the manifest tree; key files must be inside it' };
  let real: string;
  let realTree: string;
  try {
    [real, realTree] = await Promise.all([realpath(file), realpath(dirs.tree)]);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return { rule: 'key-file', message: `cannot be read (${code}); paths are relative to the manifest's folder` };
  }
  if (!inside(realTree, real)) return { rule: 'key-path-symlink', message: 'leads out of the manifest tree through a symlink' };
  // The resolved path has no symlink left: refuse one that appears there from now on.
  const read = await readBounded(real, MAX_KEY_FILE_BYTES, { noFollow: true });
  if (read.ok) return { text: read.text, file };
  switch (read.reason) {
    case 'too-large':
      return {
        rule: 'key-file-too-large',
        message: `is ${sizeText(read.bytes, MAX_KEY_FILE_BYTES)}; a key file may be at most ${MAX_KEY_FILE_BYTES / 1024} KiB`,
      };
    case 'not-a-file':
      return { rule: 'key-file-type', message: 'is not a regular file' };
    case 'symlink':
      return { rule: 'key-path-symlink', message: 'was replaced by a symlink while being read' };
    case 'unreadable':
      return { rule: 'key-file', message: `cannot be read (${read.code})` };
  }
}
