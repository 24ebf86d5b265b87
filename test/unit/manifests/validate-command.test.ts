// `promoter validate`: output a user reads and exit codes a script checks.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateCommand } from '../../../client/commands/validate';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
const CORPUS = path.join(FIXTURES, 'k8s-thin-manifests');
const GOOD = path.join(FIXTURES, 'manifests/plain/good.yaml');
const BAD = path.join(FIXTURES, 'manifests/plain/bad.yaml');

class Capture {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

// The checks below see no PROMOTER_ALLOWED_REGISTRIES unless they set it (a shell with the dev
// stack's environment has it set, and validate then checks the registries too).
let savedAllowed: string | undefined;
beforeEach(() => {
  savedAllowed = process.env.PROMOTER_ALLOWED_REGISTRIES;
  delete process.env.PROMOTER_ALLOWED_REGISTRIES;
});
afterEach(() => {
  if (savedAllowed === undefined) delete process.env.PROMOTER_ALLOWED_REGISTRIES;
  else process.env.PROMOTER_ALLOWED_REGISTRIES = savedAllowed;
});

async function run(opts: Parameters<typeof validateCommand>[0]) {
  const out = new Capture();
  const err = new Capture();
  const code = await validateCommand(opts, out, err);
  return { code, out: out.text, err: err.text };
}

describe('validateCommand', () => {
  it('exits 0 on a valid manifest and prints the counts', async () => {
    const r = await run({ manifest: GOOD });
    expect(r).toEqual({ code: 0, out: 'valid: 1 projects, 3 images, 4 digests, 15 unique edges\n', err: '' });
  });

  it('prints FILE:LINE: RULE: message per error and exits 2', async () => {
    const r = await run({ thinManifestDir: CORPUS });
    expect(r.code).toBe(2);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `${CORPUS}/manifests/k8s-staging-boskos/promoter-manifest.yaml:47: warning: duplicate-destination: registry us-west1-docker.pkg.dev/k8s-artifacts-prod/images/boskos is listed again (first at line 45); it is promoted to once`,
    );
    expect(lines[1]).toBe(
      `${CORPUS}/images/k8s-staging-ingress-nginx/images.yaml:203: digest-format: "sha256:23eb4b1775fbaa2adca55c73cf0341e1224d6308689b6f4b3aa1523312eb81c" is not a digest (sha256:<64 lowercase hex>)`,
    );
    expect(r.out).toBe('invalid: 1 error (counts of what loaded: 60 projects, 212 images, 2754 digests, 61743 unique edges)\n');
  });

  it('prints paths as given, relative ones included', async () => {
    const rel = path.relative(process.cwd(), BAD);
    const r = await run({ manifest: rel });
    expect(r.code).toBe(2);
    const first = r.err.split('\n')[0]!;
    expect(first).toBe(`${rel}:5: registry-name: "127.0.0.1:5002/Prod" is not a registry name (host[:port][/path])`);
    expect(r.err.trimEnd().split('\n')).toHaveLength(16);
  });

  it('--json prints { valid, errors, warnings, counts }', async () => {
    const r = await run({ thinManifestDir: CORPUS, json: true });
    expect(r.code).toBe(2);
    expect(r.err).toBe('');
    const doc = JSON.parse(r.out);
    expect(Object.keys(doc)).toEqual(['valid', 'errors', 'warnings', 'counts']);
    expect(doc.valid).toBe(false);
    expect(doc.errors).toEqual([
      expect.objectContaining({ file: `${CORPUS}/images/k8s-staging-ingress-nginx/images.yaml`, line: 203, column: 5, rule: 'digest-format' }),
    ]);
    expect(doc.warnings).toHaveLength(1);
    expect(doc.counts).toEqual({ projects: 60, images: 212, digests: 2754, tagPairs: 2787, uniqueEdges: 61743 });

    const ok = await run({ manifest: GOOD, json: true });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toEqual({ valid: true, errors: [], warnings: [], counts: { projects: 1, images: 3, digests: 4, tagPairs: 4, uniqueEdges: 15 } });
  });

  it('refuses an unanchored identity pattern, naming file, line and rule', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'validate-identity-'));
    const file = path.join(dir, 'promoter.yaml');
    const text = (await readFile(GOOD, 'utf8')).replace('subjectRegExp: ^https://github\\.com/example/.+$', 'subjectRegExp: https://github\\.com/example/');
    expect(text).toContain('subjectRegExp: https://github\\.com/example/\n');
    await writeFile(file, text);
    await cp(path.join(FIXTURES, 'manifests/plain/keys'), path.join(dir, 'keys'), { recursive: true });
    const line = text.split('\n').findIndex((l) => l.includes('subjectRegExp')) + 1;
    const r = await run({ manifest: file });
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `${file}:${line}: identity-regexp-anchored: subjectRegExp "https://github\\\\.com/example/" is not anchored: write it as ^…$ so it must match the whole value (an unanchored pattern accepts any value that merely contains a match)\n`,
    );
  });

  it('exits 2 on bad usage and on a missing file', async () => {
    for (const opts of [{}, { manifest: GOOD, thinManifestDir: CORPUS }, { manifest: '' }]) {
      const r = await run(opts);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain('give exactly one of --manifest FILE or --thin-manifest-dir DIR');
    }
    const missing = path.join(FIXTURES, 'manifests/plain/nope.yaml');
    const r = await run({ manifest: missing });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${missing}: file-read: cannot read the manifest (ENOENT)\n`);
    const noDir = await run({ thinManifestDir: path.join(FIXTURES, 'nope') });
    expect(noDir.code).toBe(2);
    expect(noDir.err).toBe(`${path.join(FIXTURES, 'nope')}: thin-layout: ${path.join(FIXTURES, 'nope')} does not exist\n`);
  });
});

describe('validateCommand with PROMOTER_ALLOWED_REGISTRIES', () => {
  async function withAllowed(value: string, opts: Parameters<typeof validateCommand>[0]) {
    process.env.PROMOTER_ALLOWED_REGISTRIES = value;
    return run(opts);
  }

  it('reports each registry a worker with that setting would refuse, at its line, as Setup does', async () => {
    const r = await withAllowed('127.0.0.1:5001,127.0.0.1:5002', { manifest: GOOD });
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toEqual([
      `${GOOD}:8: registry-not-allowed: destination registry 127.0.0.1:5003/mirror: 127.0.0.1:5003 is not allowed by PROMOTER_ALLOWED_REGISTRIES=127.0.0.1:5001,127.0.0.1:5002`,
      `${GOOD}:9: registry-not-allowed: destination registry 127.0.0.1:5004/mirror: 127.0.0.1:5004 is not allowed by PROMOTER_ALLOWED_REGISTRIES=127.0.0.1:5001,127.0.0.1:5002`,
    ]);
    expect(r.out).toMatch(/^invalid: 2 errors/);
  });

  it('refuses loopback matched only by a wildcard: it must be named', async () => {
    const r = await withAllowed('*:*', { manifest: GOOD });
    expect(r.code).toBe(2);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(
      `${GOOD}:4: registry-not-allowed: source registry 127.0.0.1:5001/staging: 127.0.0.1:5001 is a loopback address, allowed only when PROMOTER_ALLOWED_REGISTRIES names it (e.g. 127.0.0.1:*)`,
    );
  });

  it('accepts the manifest when every host is allowed, and says so for a bad glob', async () => {
    expect((await withAllowed('127.0.0.1:*', { manifest: GOOD })).code).toBe(0);
    const bad = await withAllowed('reg istry', { manifest: GOOD });
    expect(bad).toMatchObject({
      code: 2,
      err: 'promoter validate: PROMOTER_ALLOWED_REGISTRIES: "reg istry" is not a host glob (host[:port], "*" as a wildcard, IPv6 in brackets)\n',
    });
  });
});
