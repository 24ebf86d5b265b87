// The worker image (Dockerfile): what can be checked without pulling node:24-slim (no registry
// is reachable from here, so no image build runs in the tests). Its structure: multi-stage on
// node:24-slim, the final stage holds dist/ and production dependencies only, runs a numeric
// non-root user, versioned, the compiled CLI as entry point. And what it holds works without the
// development tools: nothing in dist/ imports a devDependency (tsx, typescript, vitest, ...).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function stages(dockerfile: string): { from: string; lines: string[] }[] {
  const out: { from: string; lines: string[] }[] = [];
  const joined = dockerfile.replace(/\\\n/g, ' ');
  for (const line of joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))) {
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)!.lines.push(line);
  }
  return out;
}

function jsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) jsFiles(p, out);
    else if (e.name.endsWith('.js') && e.name !== 'bundle.js') out.push(p);
  }
  return out;
}

const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

describe('worker image', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const [build, final] = [stages(dockerfile)[0]!, stages(dockerfile).at(-1)!];

  it('builds on node:24-slim in two stages, the type-checked build with its build id', () => {
    expect(stages(dockerfile)).toHaveLength(2);
    expect(build.from).toMatch(/^FROM node:24-slim AS build$/);
    expect(final.from).toBe('FROM node:24-slim');
    expect(build.lines).toContain('ARG BUILD_ID=""');
    expect(build.lines.some((l) => /^RUN BUILD_ID="\$\{BUILD_ID\}" npm run build && npm prune --omit=dev/.test(l))).toBe(true);
  });

  it('ships dist/ and production dependencies only, as a numeric non-root user, versioned', () => {
    const copies = final.lines.filter((l) => l.startsWith('COPY'));
    expect(copies.every((l) => l.startsWith('COPY --from=build '))).toBe(true);
    const copied = copies.flatMap((l) => l.split(/\s+/).slice(2, -1));
    expect(copied.sort()).toEqual(['/src/dist', '/src/node_modules', '/src/package-lock.json', '/src/package.json']);
    const user = final.lines.find((l) => l.startsWith('USER'))!.split(/\s+/)[1]!;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(final.lines.join('\n')).toContain('PROMOTER_WORKER_VERSIONING=on');
    expect(final.lines).toContain('ENTRYPOINT ["node", "dist/client/cli.js"]');
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'node_modules', 'dist', '.stack', '.tools']) expect(ignored).toContain(p);
  });

  it('dist/ needs no devDependency at run time', () => {
    const files = jsFiles(join(ROOT, 'dist'));
    expect(files.length).toBeGreaterThan(50);
    const builtins = new Set(builtinModules);
    const used = new Set<string>();
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:from\s+|import\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        used.add(packageOf(spec));
      }
    }
    const notDependencies = [...used].filter((p) => !(p in pkg.dependencies));
    expect(notDependencies).toEqual([]);
    expect(used).not.toContain('tsx');
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(Object.keys(pkg.devDependencies)).toContain('tsx');
  });
});
