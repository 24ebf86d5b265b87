// Every manifest rule, on both layouts: the finding must name the right file,
// the marked line and the rule id, and be the only error.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { D1, D2, D3, HEAD, IMAGES, MARK, findings, loadAs, marked, type Layout } from './helpers';

const PRIVATE_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const indent = (text: string, n: number) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

interface Case {
  name: string;
  rule: string;
  head?: string;
  images?: string;
  extra?: Record<string, string>;
  only?: Layout;
}

const SRC = `registries:
- name: 127.0.0.1:5001/staging
  src: true
`;

const cases: Case[] = [
  // Registries.
  {
    name: 'no registry is the source',
    rule: 'one-source',
    head: `registries: ${MARK}\n- name: 127.0.0.1:5002/prod\n- name: 127.0.0.1:5003/mirror\n`,
  },
  { name: 'two sources', rule: 'one-source', head: `${SRC}- name: 127.0.0.1:5004/other\n  src: true ${MARK}\n- name: 127.0.0.1:5002/prod\n` },
  { name: 'no destination', rule: 'no-destination', head: `registries: ${MARK}\n- name: 127.0.0.1:5001/staging\n  src: true\n` },
  { name: 'uppercase in a registry path', rule: 'registry-name', head: `${SRC}- name: 127.0.0.1:5002/Prod ${MARK}\n` },
  { name: 'port out of range', rule: 'registry-name', head: `${SRC}- name: 127.0.0.1:99999/prod ${MARK}\n` },
  { name: 'trailing slash', rule: 'registry-name', head: `${SRC}- name: gcr.io/k8s-artifacts-prod/ ${MARK}\n` },
  { name: 'empty registry name', rule: 'registry-name', head: `${SRC}- name: "" ${MARK}\n` },
  { name: 'source listed as a destination', rule: 'source-is-destination', head: `${SRC}- name: 127.0.0.1:5001/staging ${MARK}\n` },
  { name: 'unknown key in a registry', rule: 'unknown-key', head: `${HEAD}  region: eu ${MARK}\n` },
  { name: 'src given as a string', rule: 'wrong-type', head: `${SRC}- name: 127.0.0.1:5002/prod\n  src: "true" ${MARK}\n` },
  { name: 'registry without a name', rule: 'missing-key', head: `${SRC}- service-account: a@b.c ${MARK}\n` },
  { name: 'registry name given twice', rule: 'duplicate-key', head: `${SRC}- name: 127.0.0.1:5002/prod\n  name: 127.0.0.1:5003/prod ${MARK}\n` },
  { name: 'registries is not a list', rule: 'wrong-type', head: `registries: 127.0.0.1:5001/staging ${MARK}\n` },
  { name: 'unknown top-level key', rule: 'unknown-key', head: `${HEAD}renames: [] ${MARK}\n` },
  { name: 'images in a thin manifest', rule: 'unknown-key', head: `${HEAD}images: [] ${MARK}\n`, only: 'thin' },
  { name: 'imagesPath in a plain manifest', rule: 'unknown-key', head: `${HEAD}imagesPath: x ${MARK}\n`, only: 'plain' },

  // Policy blocks.
  { name: 'unknown signatures mode', rule: 'policy-mode', head: `${HEAD}signatures:\n  mode: always ${MARK}\n` },
  { name: 'signatures mode of provenance', rule: 'policy-mode', head: `${HEAD}provenance:\n  mode: if-present ${MARK}\n` },
  { name: 'unknown key in provenance', rule: 'unknown-key', head: `${HEAD}provenance:\n  builder: x ${MARK}\n` },
  { name: 'unknown key in signatures', rule: 'unknown-key', head: `${HEAD}signatures:\n  key: x ${MARK}\n` },
  { name: 'empty builder id', rule: 'empty-value', head: `${HEAD}provenance:\n  builders: [""] ${MARK}\n` },
  { name: 'keys not a list', rule: 'wrong-type', head: `${HEAD}signatures:\n  keys: keys/a.pub ${MARK}\n` },
  {
    name: 'identity with both subject and subjectRegExp',
    rule: 'identity-subject',
    head: `${HEAD}signatures:\n  identities:\n  - issuer: https://accounts.google.com ${MARK}\n    subject: a@b.c\n    subjectRegExp: ^a@b\\.c$\n`,
  },
  {
    name: 'identity with neither',
    rule: 'identity-subject',
    head: `${HEAD}provenance:\n  identities:\n  - issuer: https://accounts.google.com ${MARK}\n`,
  },
  {
    name: 'subjectRegExp that does not compile',
    rule: 'identity-regexp',
    head: `${HEAD}signatures:\n  identities:\n  - issuer: https://accounts.google.com\n    subjectRegExp: "(unclosed" ${MARK}\n`,
  },
  {
    name: 'subjectRegExp not anchored (it would accept a lookalike that merely contains it)',
    rule: 'identity-regexp-anchored',
    head: `${HEAD}signatures:\n  identities:\n  - issuer: https://accounts.google.com\n    subjectRegExp: krel-trust@k8s-releng-prod\\.iam\\.gserviceaccount\\.com ${MARK}\n`,
  },
  {
    name: 'subjectRegExp anchored at the start only',
    rule: 'identity-regexp-anchored',
    head: `${HEAD}provenance:\n  identities:\n  - issuer: https://accounts.google.com\n    subjectRegExp: "^krel-trust@" ${MARK}\n`,
  },
  {
    name: 'subjectRegExp with a top-level alternative',
    rule: 'identity-regexp-anchored',
    head: `${HEAD}signatures:\n  identities:\n  - issuer: https://accounts.google.com\n    subjectRegExp: "^a@x\\\\.com|b@x\\\\.com$" ${MARK}\n`,
  },
  {
    name: 'subjectRegExp that RE2 cannot run (a lookahead)',
    rule: 'identity-regexp',
    head: `${HEAD}signatures:\n  identities:\n  - issuer: https://accounts.google.com\n    subjectRegExp: "^(?=krel)krel@x\\\\.com$" ${MARK}\n`,
  },
  {
    name: 'identity without issuer',
    rule: 'missing-key',
    head: `${HEAD}signatures:\n  identities:\n  - subject: a@b.c ${MARK}\n`,
  },
  { name: 'key file missing', rule: 'key-file', head: `${HEAD}signatures:\n  keys:\n  - keys/missing.pub ${MARK}\n` },
  {
    name: 'key file that is not PEM',
    rule: 'key-format',
    head: `${HEAD}provenance:\n  keys:\n  - keys/notes.txt ${MARK}\n`,
    extra: { 'keys/notes.txt': 'just some notes\n' },
  },
  { name: 'absolute key path', rule: 'key-path-outside', head: `${HEAD}signatures:\n  keys:\n  - /etc/ssl/certs/release.pub ${MARK}\n` },
  {
    name: 'key path that climbs out of the manifest tree',
    rule: 'key-path-outside',
    head: `${HEAD}provenance:\n  keys:\n  - keys/../../../../release.pub ${MARK}\n`,
  },
  {
    name: 'key path that is a folder',
    rule: 'key-file-type',
    head: `${HEAD}signatures:\n  keys:\n  - keys ${MARK}\n`,
    extra: { 'keys/a.pub': 'x\n' },
  },
  {
    name: 'key file over 64 KiB',
    rule: 'key-file-too-large',
    head: `${HEAD}signatures:\n  keys:\n  - keys/big.pub ${MARK}\n`,
    extra: { 'keys/big.pub': 'x'.repeat(64 * 1024 + 1) },
  },
  {
    name: 'inline PEM that does not parse',
    rule: 'key-format',
    head: `${HEAD}signatures:\n  keys:\n  - | ${MARK}\n    -----BEGIN PUBLIC KEY-----\n    bm90IGEga2V5\n    -----END PUBLIC KEY-----\n`,
  },
  {
    name: 'inline private key',
    rule: 'key-private',
    head: `${HEAD}signatures:\n  keys:\n  - | ${MARK}\n${indent(PRIVATE_PEM, 4)}\n`,
  },
  {
    name: 'private key file',
    rule: 'key-private',
    head: `${HEAD}signatures:\n  keys:\n  - keys/cosign.key ${MARK}\n`,
    extra: { 'keys/cosign.key': PRIVATE_PEM },
  },

  // Images.
  { name: 'uppercase image name', rule: 'image-name', images: `- name: Foo ${MARK}\n  dmap:\n    "${D1}": ["v1"]\n` },
  { name: 'empty image name', rule: 'image-name', images: `- name: "" ${MARK}\n  dmap:\n    "${D1}": ["v1"]\n` },
  { name: 'empty path component', rule: 'image-name', images: `- name: a//b ${MARK}\n  dmap:\n    "${D1}": ["v1"]\n` },
  { name: 'leading separator', rule: 'image-name', images: `- name: _a ${MARK}\n  dmap:\n    "${D1}": ["v1"]\n` },
  { name: 'three underscores', rule: 'image-name', images: `- name: a___b ${MARK}\n  dmap:\n    "${D1}": ["v1"]\n` },
  { name: 'empty dmap', rule: 'empty-dmap', images: `- name: foo\n  dmap: {} ${MARK}\n` },
  { name: 'image without dmap', rule: 'missing-key', images: `- name: foo ${MARK}\n` },
  { name: 'unknown key in an image', rule: 'unknown-key', images: `${IMAGES}  tags: [v1] ${MARK}\n` },
  { name: '63 hex digits', rule: 'digest-format', images: `- name: foo\n  dmap:\n    "${D1.slice(0, -1)}": ["v1"] ${MARK}\n` },
  { name: 'uppercase hex', rule: 'digest-format', images: `- name: foo\n  dmap:\n    "${D1.toUpperCase().replace('SHA256', 'sha256')}": ["v1"] ${MARK}\n` },
  { name: 'sha512 digest', rule: 'digest-format', images: `- name: foo\n  dmap:\n    "sha512:${'a'.repeat(128)}": ["v1"] ${MARK}\n` },
  { name: 'tag with a leading dash', rule: 'tag-format', images: `- name: foo\n  dmap:\n    "${D1}": ["v1", "-v2"] ${MARK}\n` },
  { name: 'tag of 129 characters', rule: 'tag-format', images: `- name: foo\n  dmap:\n    "${D1}": ["${'v'.repeat(129)}"] ${MARK}\n` },
  { name: 'tag read as a number', rule: 'tag-format', images: `- name: foo\n  dmap:\n    "${D1}": [1.10] ${MARK}\n` },
  { name: 'tags not a list', rule: 'wrong-type', images: `- name: foo\n  dmap:\n    "${D1}": v1 ${MARK}\n` },
  {
    name: 'image listed twice',
    rule: 'duplicate-image',
    images: `${IMAGES}- name: foo ${MARK}\n  dmap:\n    "${D2}": ["v2"]\n`,
  },
  {
    name: 'one tag on two digests of one image',
    rule: 'tag-conflict',
    images: `- name: foo\n  dmap:\n    "${D1}": ["v1", "latest"]\n    "${D2}": ["v2", "latest"] ${MARK}\n`,
  },
  {
    name: 'digest listed twice',
    rule: 'duplicate-key',
    images: `- name: foo\n  dmap:\n    "${D1}": ["v1"]\n    ${D1}: ["v2"] ${MARK}\n`,
  },
  {
    name: 'alias bomb',
    rule: 'alias-limit',
    images: [
      '- name: foo',
      `  dmap: { "${D1}": ["v1"] }`,
      '  x0: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
      `  x1: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a] ${MARK}`,
      '  x2: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      '  x3: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      '  x4: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      '  x5: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
      '',
    ].join('\n'),
  },
  { name: 'unresolved custom tag', rule: 'yaml-syntax', images: `- name: !shell foo ${MARK}\n  dmap:\n    "${D1}": ["v1"]\n` },
  { name: 'images file is a mapping', rule: 'wrong-type', images: `name: foo ${MARK}\ndmap: {}\n`, only: 'thin' },
];

describe.each(['plain', 'thin'] as const)('rules on the %s layout', (layout) => {
  for (const c of cases) {
    if (c.only && c.only !== layout) continue;
    it(`${c.rule}: ${c.name}`, async () => {
      const l = await loadAs(layout, c.head ?? HEAD, c.images ?? IMAGES, c.extra);
      const want = marked(l).map(([file, line]) => [file, line, c.rule]);
      expect(want.length).toBeGreaterThan(0);
      expect(findings(l.result)).toEqual(want);
      expect(l.result.bundle).toBeUndefined();
      for (const e of l.result.errors) expect(e.message.length).toBeGreaterThan(0);
    });
  }

  it('accepts the edge cases of the grammars', async () => {
    const head = `registries:
- name: localhost:5000/staging
  src: true
- name: "[::1]:5002/prod"
  src: false
- name: gcr.io
- name: us-central1-docker.pkg.dev/k8s-artifacts-prod/images/x_y
`;
    const images = `- name: python_runtime_sandbox # underscore: allowed by the distribution spec
  dmap:
    sha256:${D1.slice(7)}: [v0.5.0]
- name: a__b/c---d/e.f
  dmap:
    "${D2}": []
    "${D3}": [ "latest", "latest", "${'x'.repeat(128)}" ]
`;
    const l = await loadAs(layout, head, images);
    expect(l.result.errors).toEqual([]);
    const p = l.result.bundle!.projects[0]!;
    expect(p.source).toBe('localhost:5000/staging');
    expect(p.destinations).toEqual(['[::1]:5002/prod', 'gcr.io', 'us-central1-docker.pkg.dev/k8s-artifacts-prod/images/x_y']);
    expect(p.images).toEqual([
      { name: 'python_runtime_sandbox', dmap: { [D1]: ['v0.5.0'] } },
      { name: 'a__b/c---d/e.f', dmap: { [D2]: [], [D3]: ['latest', 'x'.repeat(128)] } },
    ]);
    // 3 destinations x (1 + 1 tagless + 2) units.
    expect(l.result.counts).toEqual({ projects: 1, images: 2, digests: 3, tagPairs: 3, uniqueEdges: 12 });
  });

  it('fills policy defaults and carries keys as PEM text', async () => {
    const l = await loadAs(layout, HEAD, IMAGES);
    const p = l.result.bundle!.projects[0]!;
    expect(p.signatures).toEqual({ mode: 'if-present', keys: [], identities: [] });
    expect(p.provenance).toEqual({ mode: 'warn', builders: [], sources: [], keys: [], identities: [] });
  });

  it('warns (does not fail) on a destination listed twice and promotes to it once', async () => {
    const l = await loadAs(layout, `${HEAD}- name: 127.0.0.1:5002/prod ${MARK}\n`, IMAGES);
    expect(l.result.errors).toEqual([]);
    expect(findings(l.result, 'warnings')).toEqual(marked(l).map(([f, line]) => [f, line, 'duplicate-destination']));
    expect(l.result.bundle!.projects[0]!.destinations).toEqual(['127.0.0.1:5002/prod', '127.0.0.1:5003/mirror']);
    expect(l.result.counts.uniqueEdges).toBe(2);
  });

  it('warns when a require policy names no trust material', async () => {
    const l = await loadAs(layout, `${HEAD}signatures:\n  mode: require ${MARK}\nprovenance:\n  mode: require\n  keys: [keys/k.pub]\n`, IMAGES, {
      'keys/k.pub': (generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string).replace(/\n/g, '\r\n'),
    });
    expect(l.result.errors).toEqual([]);
    expect(findings(l.result, 'warnings')).toEqual(marked(l).map(([f, line]) => [f, line, 'policy-no-trust']));
    const p = l.result.bundle!.projects[0]!;
    expect(p.signatures).toEqual({ mode: 'require', keys: [], identities: [] });
    expect(p.provenance.keys).toHaveLength(1);
    expect(p.provenance.keys[0]).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n$/);
  });

  it('collects every error of a file, sorted by line', async () => {
    const head = `${SRC}- name: 127.0.0.1:5002/Prod\n  src: true\n`;
    const images = `- name: Foo\n  dmap:\n    "sha256:abc": [v1]\n    "${D2}": ["-x"]\n- name: bar\n  dmap: {}\n`;
    const l = await loadAs(layout, head, images);
    const rules = l.result.errors.map((e) => e.rule);
    expect(rules.sort()).toEqual(['digest-format', 'empty-dmap', 'image-name', 'no-destination', 'one-source', 'registry-name', 'tag-format'].sort());
    const order = l.result.errors.map((e) => [e.file, e.line] as const);
    const sorted = [...order].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    expect(order).toEqual(sorted);
  });
});
