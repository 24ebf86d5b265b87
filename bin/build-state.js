// Whether dist/ holds a build of the sources next to it, shared by the `promoter` command (which
// builds on demand) and scripts/build.ts (which writes dist/build-info.json). Plain JavaScript: it
// runs before anything is compiled.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Everything dist/ is made from: a change to any of these makes the build stale. */
const SOURCE_DIRS = ['lib', 'workflows', 'activities', 'worker', 'client'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.ts', 'bin/build-state.js'];
const SOURCE_EXT = /\.(ts|js|json)$/;

/** True in a checkout (sources present); false where only dist/ was shipped (the container image). */
export function hasSources(root) {
  return existsSync(join(root, 'client', 'cli.ts'));
}

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && SOURCE_EXT.test(e.name)) out.push(p);
  }
}

/** sha256 over the sources' paths and contents, in a stable order. */
export function sourceHash(root) {
  const files = [];
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(join(root, d), files);
  for (const f of SOURCE_FILES) if (existsSync(join(root, f))) files.push(join(root, f));
  const h = createHash('sha256');
  for (const f of files.map((p) => relative(root, p)).sort()) {
    h.update(f);
    h.update('\0');
    h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** dist/build-info.json, or undefined when there is no complete build. */
function readBuildInfo(root) {
  try {
    return JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** dist/ was built from exactly the sources now in the checkout. */
export function buildIsFresh(root) {
  const info = readBuildInfo(root);
  return info !== undefined && info.sourceHash === sourceHash(root);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * One build at a time per checkout: waits for the lock file (a build left by a dead process does
 * not count), runs `fn`, releases. Several `promoter` commands started at once in a fresh checkout
 * therefore build once.
 */
export async function withBuildLock(root, fn) {
  const lock = join(root, '.build.lock');
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lock, 'utf8').trim() || 0);
      if (holder && !alive(holder)) rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
