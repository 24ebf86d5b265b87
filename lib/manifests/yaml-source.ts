// Strict YAML loading that keeps enough of the syntax tree to point every
// finding at a file, line and column.
import { Composer, Lexer, LineCounter, Parser, YAMLParseError, isAlias, isMap, isPair, isScalar, isSeq, visit } from 'yaml';
import type { CST, Document, Node, Pair, Scalar, YAMLMap } from 'yaml';
import type { ManifestError } from './types';

/** Alias expansions allowed per document; enough for any honest manifest, far too few for a "billion laughs". */
export const MAX_ALIAS_COUNT = 100;

/**
 * Collections nested in one another, at most (a manifest needs 5: images, an image, its dmap, a
 * digest's tags). The YAML library composes recursively: far deeper input overflows the stack.
 */
export const MAX_YAML_DEPTH = 64;

export type PathSegment = string | number;

interface Position {
  line: number;
  column: number;
}

export interface YamlSource {
  /** File name relative to the loaded root, used in every finding. */
  file: string;
  /** The plain JS value; `null` for an empty or comment-only file, `undefined` when loading failed. */
  data: unknown;
  /** Syntax, duplicate-key and alias-limit errors. */
  errors: ManifestError[];
  /** Where the node at `path` starts; `key: true` points at the map key instead of the value. */
  locate(path: readonly PathSegment[], key?: boolean): Position;
  /** A finding at `path`. */
  error(path: readonly PathSegment[], rule: string, message: string, key?: boolean): ManifestError;
}

const YAML_CODE_RULES: Record<string, string> = {
  DUPLICATE_KEY: 'duplicate-key',
};

export function loadYaml(file: string, rawText: string): YamlSource {
  // Editors on Windows may save a byte-order mark; the parser would choke on
  // it. Dropping it keeps every line number (and the columns people see).
  const text = rawText.charCodeAt(0) === 0xfeff ? rawText.slice(1) : rawText;
  const lineCounter = new LineCounter();
  const pos = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const cst = parseCst(text, lineCounter);
  if ('tooDeepAt' in cst) {
    const at = pos(cst.tooDeepAt);
    const finding = (rule: string, message: string): ManifestError => ({ file, line: at.line, column: at.column, rule, message });
    const errors = [finding('yaml-depth', `collections nested deeper than ${MAX_YAML_DEPTH} levels`)];
    return { file, data: undefined, errors, locate: () => at, error: (_, rule, message) => finding(rule, message) };
  }
  const doc = composeOne(cst.tokens, text.length);
  const errors: ManifestError[] = [];
  // Warnings (unresolved tags, odd directives) are errors here: a manifest is strict.
  for (const e of [...doc.errors, ...doc.warnings]) {
    const at = pos(e.pos[0]);
    errors.push({
      file,
      line: at.line,
      column: at.column,
      rule: YAML_CODE_RULES[e.code] ?? 'yaml-syntax',
      message: firstLine(e.message),
    });
  }

  checkKeys(doc.contents, (key, first) => {
    const at = pos(rangeStart(key) ?? 0);
    errors.push(
      first
        ? {
            file,
            line: at.line,
            column: at.column,
            rule: 'duplicate-key',
            message: `duplicate key ${JSON.stringify(String((key as Scalar).value))} (first at line ${pos(rangeStart(first) ?? 0).line})`,
          }
        : { file, line: at.line, column: at.column, rule: 'complex-key', message: 'a map key must be a plain value, not a list or map' },
    );
  });

  let data: unknown = undefined;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? null;
    } catch (e) {
      const at = firstAlias(doc) ?? 0;
      const p = pos(at);
      errors.push({
        file,
        line: p.line,
        column: p.column,
        rule: 'alias-limit',
        message: `aliases expand beyond ${MAX_ALIAS_COUNT} nodes (${(e as Error).message})`,
      });
    }
  }

  const locator = new Locator(doc);
  const locate = (path: readonly PathSegment[], key = false): Position => pos(locator.offset(path, key));
  return {
    file,
    data,
    errors,
    locate,
    error(path, rule, message, key = false) {
      const p = locate(path, key);
      return { file, line: p.line, column: p.column, rule, message };
    },
  };
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * The syntax tree of `text`, or the offset of the first collection nested deeper than
 * MAX_YAML_DEPTH. The lexer and parser keep open collections on a stack of their own, not on
 * the call stack, so this never overflows; composing comes only after the depth is known.
 */
function parseCst(text: string, lineCounter: LineCounter): { tokens: CST.Token[] } | { tooDeepAt: number } {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0); // as Parser.parse() does: line 1 starts at 0
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    // There are never more open collections than stack entries: most lexemes cost one comparison.
    if (parser.stack.length > MAX_YAML_DEPTH) {
      const open = parser.stack.filter((t) => COLLECTIONS.has(t.type));
      if (open.length > MAX_YAML_DEPTH) return { tooDeepAt: open[MAX_YAML_DEPTH]!.offset };
    }
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

/** The first document, as the library's parseDocument composes it: a second one is an error. */
function composeOne(tokens: CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({
    // The library checks unique keys with a linear scan per key (quadratic in
    // the size of a map: 37 s for one 40,000-digest dmap); duplicateKeys()
    // below does the same check with a hash set.
    uniqueKeys: false,
    strict: true,
    // A manifest has no use for YAML 1.1 merge keys or custom tags.
    merge: false,
  });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (!doc) doc = next;
    else {
      const message = 'Source contains multiple documents; please use YAML.parseAllDocuments()';
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', message));
      break;
    }
  }
  return doc!; // compose(…, forceDoc = true) always yields one
}

/**
 * Reports every map key that repeats an earlier key of the same map, and every
 * key that is a collection. Keys are compared as strings, since that is what
 * they become in JS (`1` and `"1"` collide).
 */
function checkKeys(node: unknown, report: (key: unknown, first?: Scalar) => void): void {
  if (isMap(node)) {
    const seen = new Map<string, Scalar>();
    for (const pair of node.items) {
      if (isScalar(pair.key)) {
        const k = String(pair.key.value);
        const first = seen.get(k);
        if (first) report(pair.key, first);
        else seen.set(k, pair.key);
      } else if (pair.key !== null && pair.key !== undefined) {
        report(pair.key);
      }
      checkKeys(pair.value, report);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) checkKeys(item, report);
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}

function firstAlias(doc: Document): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_, node) {
      at = node.range?.[0];
      return visit.BREAK;
    },
  });
  return at;
}

/**
 * Maps a JS path back to a syntax-tree offset. Map lookups go through an index
 * built once per map, so locating many findings in one huge dmap stays linear.
 */
class Locator {
  private readonly index = new WeakMap<YAMLMap, Map<string, Pair>>();
  constructor(private readonly doc: Document) {}

  offset(path: readonly PathSegment[], key: boolean): number {
    let node: unknown = this.doc.contents;
    let at = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isAlias(node)) node = node.resolve(this.doc);
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = this.pairs(node).get(String(seg));
        if (!pair) return at;
        if (last && key) return rangeStart(pair.key) ?? at;
        // A key with no value (`name:`) has no value node: point at the key.
        node = pair.value ?? pair.key;
        if (pair.value === null || pair.value === undefined) return rangeStart(pair.key) ?? at;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) return at;
        node = item;
      } else {
        return at;
      }
      at = rangeStart(node) ?? at;
    }
    return at;
  }

  private pairs(map: YAMLMap): Map<string, Pair> {
    let m = this.index.get(map);
    if (!m) {
      m = new Map();
      for (const item of map.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        if (!m.has(k)) m.set(k, item);
      }
      this.index.set(map, m);
    }
    return m;
  }
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return r ? r[0] : undefined;
}
