// Turns zod issues into findings with file, line and rule.
import type { z } from 'zod';
import { RULE_SEP } from './schemas';
import type { ManifestError } from './types';
import type { PathSegment, YamlSource } from './yaml-source';

export function issuesToErrors(src: YamlSource, issues: readonly z.core.$ZodIssue[], prefix: PathSegment[] = []): ManifestError[] {
  const out: ManifestError[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        out.push(src.error([...path, k], 'unknown-key', `unknown key ${JSON.stringify(k)}${where(path)}`, true));
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      // A bad map key (a digest): point at the key itself.
      const inner = issue.issues[0];
      const [rule, text] = split(inner?.message ?? issue.message, 'invalid-key');
      out.push(src.error(path, rule, text, true));
      continue;
    }
    if (issue.message.includes(RULE_SEP)) {
      const [rule, text] = split(issue.message, 'schema');
      out.push(src.error(path, rule, text));
      continue;
    }
    if (issue.code === 'invalid_type') {
      const value = valueAt(src.data, path);
      if (value === undefined && path.length > 0) {
        const key = path[path.length - 1]!;
        out.push(src.error(path.slice(0, -1), 'missing-key', `missing required key ${JSON.stringify(key)}${where(path.slice(0, -1))}`));
      } else {
        out.push(src.error(path, 'wrong-type', `expected ${issue.expected}, got ${typeName(value)}${where(path)}`));
      }
      continue;
    }
    out.push(src.error(path, 'schema', `${issue.message}${where(path)}`));
  }
  return out;
}

function split(message: string, fallback: string): [string, string] {
  const i = message.indexOf(RULE_SEP);
  return i < 0 ? [fallback, message] : [message.slice(0, i), message.slice(i + 1)];
}

function where(path: readonly PathSegment[]): string {
  return path.length === 0 ? '' : ` (at ${pathText(path)})`;
}

export function pathText(path: readonly PathSegment[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let v = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
