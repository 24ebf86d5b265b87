// Where a worker's JavaScript heap went: a V8 heap snapshot (`--heapsnapshot-signal`) summed by
// structure, like the Summary view of Chrome's DevTools (shallow sizes, grouped by constructor for
// objects and by kind for strings, arrays, code and the rest).
//
// Snapshots of a big heap are larger than one JavaScript string may be, and V8 writes a section on
// one line or on many depending on how it was asked, so the file is scanned as a stream: the
// metadata first, then the node list (kept: type, name and size of each), the edges and the
// rest (skipped), and the strings at the end (kept, for the names).
import { createReadStream } from 'node:fs';

interface HeapGroup {
  /** `Map`, `RegistryClient`, `(string)`, `(array) (object elements)`, ... */
  name: string;
  count: number;
  selfBytes: number;
}

export interface HeapSummary {
  file: string;
  totalBytes: number;
  nodes: number;
  /** Largest groups first. */
  groups: HeapGroup[];
}

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
}

/** Kinds of node that are summed by their kind, not by their name. */
const BY_KIND = new Set(['string', 'concatenated string', 'sliced string', 'code', 'number', 'regexp', 'hidden', 'closure', 'symbol', 'bigint']);

const NODES = '"nodes":[';
const STRINGS = '"strings":[';

export async function summarizeHeapSnapshot(file: string, top = 20): Promise<HeapSummary> {
  let state: 'head' | 'nodes' | 'seek' | 'strings' | 'string' | 'done' = 'head';
  let pending = ''; // head text, or the tail of the skipped part where the strings key may start
  let meta: Meta | undefined;
  let fields = 0;
  let keep: number[] = []; // which node fields to keep, in the order type, name, self size
  let field = 0;
  let num = 0;
  // [type, name index, self size] per node
  const nodes: number[] = [];
  const strings: string[] = [];
  let raw = '';
  let escaped = false;

  const scan = (text: string): void => {
    let i = 0;
    while (i < text.length && state !== 'done') {
      if (state === 'head' || state === 'seek') {
        pending += text.slice(i);
        i = text.length;
        const key = state === 'head' ? NODES : STRINGS;
        const at = pending.indexOf(key);
        if (at < 0) {
          if (state === 'seek') pending = pending.slice(-key.length);
          continue;
        }
        if (state === 'head') {
          meta = (JSON.parse(`${pending.slice(0, at).replace(/,\s*$/, '')}}`) as { snapshot: { meta: Meta } }).snapshot.meta;
          fields = meta.node_fields.length;
          keep = ['type', 'name', 'self_size'].map((f) => meta!.node_fields.indexOf(f));
        }
        const rest = pending.slice(at + key.length);
        pending = '';
        state = state === 'head' ? 'nodes' : 'strings';
        scan(rest);
        return;
      }
      const c = text.charCodeAt(i++);
      if (state === 'nodes') {
        if (c >= 48 && c <= 57) num = num * 10 + (c - 48);
        else if (c === 44 || c === 93) {
          if (keep.includes(field)) nodes.push(num);
          num = 0;
          field = (field + 1) % fields;
          if (c === 93) state = 'seek';
        }
      } else if (state === 'strings') {
        if (c === 34) state = 'string';
        else if (c === 93) state = 'done';
      } else if (escaped) {
        raw += text[i - 1];
        escaped = false;
      } else if (c === 92) {
        raw += '\\';
        escaped = true;
      } else if (c === 34) {
        strings.push(JSON.parse(`"${raw}"`) as string);
        raw = '';
        state = 'strings';
      } else raw += text[i - 1];
    }
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) scan(chunk as string);
  if (!meta) throw new Error(`${file}: not a V8 heap snapshot`);
  // keep[] lists the fields in node order; put them back as type, name, size.
  const order = ['type', 'name', 'self_size'].map((f) => [...keep].sort((a, b) => a - b).indexOf(meta!.node_fields.indexOf(f)));

  const types = meta.node_types[0];
  const groups = new Map<string, HeapGroup>();
  let totalBytes = 0;
  for (let i = 0; i < nodes.length; i += 3) {
    const kind = types[nodes[i + order[0]!]!] ?? 'unknown';
    const named = strings[nodes[i + order[1]!]!] ?? '?';
    // Arrays keep their name: V8 names the backing stores ("(object elements)", "(internal array)").
    const name = kind === 'array' ? `(array) ${named}` : BY_KIND.has(kind) ? `(${kind})` : kind === 'object' || kind === 'native' ? named : `(${kind})`;
    const size = nodes[i + order[2]!]!;
    totalBytes += size;
    const g = groups.get(name) ?? { name, count: 0, selfBytes: 0 };
    g.count++;
    g.selfBytes += size;
    groups.set(name, g);
  }
  const sorted = [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top);
  return { file, totalBytes, nodes: nodes.length / 3, groups: sorted };
}

export function printHeapSummary(s: HeapSummary, print: (line: string) => void = console.log): void {
  const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
  print(`\nheap snapshot ${s.file}: ${mib(s.totalBytes)} MiB in ${s.nodes.toLocaleString('en-US')} objects; largest structures (shallow size):`);
  for (const g of s.groups) print(`  ${mib(g.selfBytes).padStart(8)} MiB  ${String(g.count).padStart(10)}  ${g.name}`);
}
