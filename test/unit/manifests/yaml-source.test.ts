// Strict YAML loading: what the parser accepts, and where its findings point.
import { describe, expect, it } from 'vitest';
import { MAX_ALIAS_COUNT } from '../../../lib/manifests';
import { loadYaml } from '../../../lib/manifests/yaml-source';

const load = (text: string) => loadYaml('f.yaml', text);
const found = (text: string) => load(text).errors.map((e) => [e.line, e.rule]);

describe('loadYaml', () => {
  it('reads an empty or comment-only file as null', () => {
    expect(load('').data).toBeNull();
    expect(load('# only a comment').data).toBeNull();
    expect(load('# a\n\n# b\n').errors).toEqual([]);
  });

  it('reads CRLF line ends and a byte-order mark, lines unchanged', () => {
    const s = load('\uFEFF- name: a\r\n  dmap:\r\n    x: [v1]\r\n    x: [v2]\r\n');
    expect(s.errors.map((e) => [e.line, e.column, e.rule])).toEqual([[4, 5, 'duplicate-key']]);
    expect(load('- name: a\r\n- name: b\r\n').data).toEqual([{ name: 'a' }, { name: 'b' }]);
  });

  it('fails duplicate keys at any depth, comparing keys as JS will see them', () => {
    expect(found('a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n')).toEqual([[5, 'duplicate-key']]);
    expect(found('1: a\n"1": b\n')).toEqual([[2, 'duplicate-key']]);
    expect(found('- {a: 1, a: 2}\n')).toEqual([[1, 'duplicate-key']]);
    expect(load('a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n').errors[0]!.message).toContain('first at line 3');
  });

  it('fails collection keys, several documents and broken syntax, naming the line', () => {
    expect(found('? [a]\n: 1\n')).toEqual([[1, 'complex-key']]);
    expect(found('- a\n---\n- b\n')).toEqual([[2, 'yaml-syntax']]);
    expect(found('- name: a\n dmap: x\n')).toEqual([[2, 'yaml-syntax']]);
    // The parser notices the missing quote at the end of the input.
    expect(found('a: "unclosed\n')).toEqual([[2, 'yaml-syntax']]);
  });

  it('allows a few aliases and refuses an expansion past the limit', () => {
    expect(load('a: &x [1, 2]\nb: *x\n').data).toEqual({ a: [1, 2], b: [1, 2] });
    const many = `x: &x [1]\ny: [${Array.from({ length: MAX_ALIAS_COUNT + 1 }, () => '*x').join(', ')}]\n`;
    expect(found(many)).toEqual([[2, 'alias-limit']]);
    expect(load(many).data).toBeUndefined();
  });

  it('locates keys and values by path, one line per finding', () => {
    const s = load('registries:\n- name: a\n  src: true\n- name: b\nimages: []\n');
    expect(s.locate(['registries', 1, 'name'])).toEqual({ line: 4, column: 9 });
    expect(s.locate(['registries', 1, 'name'], true)).toEqual({ line: 4, column: 3 });
    expect(s.locate(['images'])).toEqual({ line: 5, column: 9 });
    // A path that does not exist points at its deepest existing node.
    expect(s.locate(['registries', 0, 'missing']).line).toBe(2);
  });
});
