/**
 * `npm run build [-- --no-check] [--if-stale]`: the promoter as JavaScript in dist/, no tsx needed
 * to run it.
 *
 *   1. tsc compiles lib/, workflows/, activities/, worker/ and client/ (tsconfig.build.json);
 *      tsc-alias gives every relative import its file extension, which Node's ESM loader requires
 *   2. bundleWorkflowCode bundles the workflow code (with its interceptors) ahead of time into
 *      dist/workflows/bundle.js, which the compiled worker loads instead of bundling at start
 *   3. dist/build-info.json records the version, the build id (BUILD_ID, else the git commit)
 *      and the hash of the sources, by which `promoter` tells a stale dist/ from a fresh one
 *
 * The build is written to dist.next/ and swapped in whole. `--no-check` skips the type check
 * (the `promoter` command's on-demand build; `npm run typecheck` and CI check types anyway);
 * `--if-stale` builds only when dist/ is missing or older than the sources.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { buildIsFresh, sourceHash, withBuildLock } from '../bin/build-state.js';
import { WORKFLOWS_PATH, WORKFLOW_INTERCEPTOR_MODULES } from '../workflows/location';
import { buildIdOf, gitState } from '../worker/build-identity';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

const log = (line: string): void => {
  process.stderr.write(`build: ${line}\n`);
};

function run(what: string, script: string, args: string[]): void {
  const started = performance.now();
  execFileSync(process.execPath, [join(ROOT, script), ...args], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  log(`${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

async function build(check: boolean): Promise<void> {
  const out = join(ROOT, 'dist.next');
  rmSync(out, { recursive: true, force: true });
  const hash = sourceHash(ROOT);
  const tscArgs = ['-p', 'tsconfig.build.json', '--outDir', out, ...(check ? [] : ['--noCheck'])];
  run(check ? 'compiled and type-checked' : 'compiled (no type check)', 'node_modules/typescript/bin/tsc', tscArgs);
  run('import paths resolved', 'node_modules/tsc-alias/dist/bin/index.js', ['-p', 'tsconfig.build.json', '--outDir', out]);
  // dist/ is an ES module tree of its own (the container image has no other package.json above it
  // that says so), and lib/oci reads the version for its User-Agent from the package.json there.
  writeFileSync(join(out, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 2)}\n`);

  const started = performance.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { log: () => {}, trace: () => {}, debug: () => {}, info: () => {}, warn: (m) => log(`bundler: ${m}`), error: (m) => log(`bundler: ${m}`) },
  });
  writeFileSync(join(out, 'workflows', 'bundle.js'), code);
  log(`workflow bundle ${(code.length / 1024).toFixed(0)} KiB (${((performance.now() - started) / 1000).toFixed(1)} s)`);

  const git = gitState(ROOT);
  const buildId = buildIdOf(pkg.version, { env: process.env.BUILD_ID, git, sourceHash: hash });
  const info = { name: pkg.name, version: pkg.version, buildId, ...(git ?? {}), sourceHash: hash, builtAt: new Date().toISOString() };
  writeFileSync(join(out, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);

  const dist = join(ROOT, 'dist');
  const old = join(ROOT, 'dist.prev');
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
  rmSync(old, { recursive: true, force: true });
  log(`dist/ ready, build id ${buildId}`);
}

async function main(argv: string[]): Promise<number> {
  const check = !argv.includes('--no-check');
  const ifStale = argv.includes('--if-stale');
  return withBuildLock(ROOT, async () => {
    if (ifStale && buildIsFresh(ROOT)) return 0;
    await build(check);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`FAILED: ${err.message}`);
    process.exit(1);
  },
);
