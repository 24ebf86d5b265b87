// The heap-snapshot summary the benchmark prints: a real V8 snapshot of this process, with a known
// number of objects of a class of its own, in both layouts V8 writes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeHeapSnapshot } from '../../../scripts/bench/common/heap-summary';

class HeapSummaryMarker {
  constructor(readonly payload: number[]) {}
}

let dir: string;
let snapshot: string;
const kept: HeapSummaryMarker[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'heap-summary-'));
  for (let i = 0; i < 1234; i++) kept.push(new HeapSummaryMarker([i, i + 1, i + 2]));
  snapshot = writeHeapSnapshot(join(dir, 'one-line.heapsnapshot'));
});

afterAll(async () => {
  kept.length = 0;
  await rm(dir, { recursive: true, force: true });
});

const marker = async (file: string) => {
  const s = await summarizeHeapSnapshot(file, 100_000);
  return { s, g: s.groups.find((x) => x.name === 'HeapSummaryMarker') };
};

describe('summarizeHeapSnapshot', () => {
  it('counts the objects of a class and their shallow size', async () => {
    const { s, g } = await marker(snapshot);
    expect(g?.count).toBe(1234);
    // Each holds a header and one field: more than nothing, far less than its array.
    expect(g!.selfBytes).toBeGreaterThanOrEqual(1234 * 12);
    expect(g!.selfBytes).toBeLessThan(1234 * 64);
    expect(s.totalBytes).toBeGreaterThan(g!.selfBytes);
    // The largest structures come first.
    expect(s.groups.map((x) => x.selfBytes)).toEqual([...s.groups.map((x) => x.selfBytes)].sort((a, b) => b - a));
  });

  it('reads the many-line layout V8 writes on a signal the same way', async () => {
    // The signal-written layout: one node, edge and string per line.
    const j = JSON.parse(await readFile(snapshot, 'utf8')) as Record<string, unknown> & { nodes: number[]; strings: string[] };
    const fields = (j.snapshot as { meta: { node_fields: string[] } }).meta.node_fields.length;
    const rows: string[] = [];
    for (let i = 0; i < j.nodes.length; i += fields) rows.push(j.nodes.slice(i, i + fields).join(','));
    const rest = Object.entries(j)
      .filter(([k]) => k !== 'nodes' && k !== 'strings')
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    const text = `{${rest[0]},\n"nodes":[${rows.join(',\n')}],\n${rest.slice(1).join(',\n')},\n"strings":[${j.strings.map((x) => JSON.stringify(x)).join(',\n')}]}`;
    const many = join(dir, 'many-lines.heapsnapshot');
    await writeFile(many, text);
    const [a, b] = [await marker(snapshot), await marker(many)];
    expect(b.g).toEqual(a.g);
    expect(b.s.totalBytes).toBe(a.s.totalBytes);
  });

  it('refuses a file that is not a heap snapshot', async () => {
    const bad = join(dir, 'bad.heapsnapshot');
    await writeFile(bad, '{"hello":1}');
    await expect(summarizeHeapSnapshot(bad)).rejects.toThrow(/not a V8 heap snapshot/);
  });
});
