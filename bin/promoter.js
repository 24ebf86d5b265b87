#!/usr/bin/env node
// The `promoter` command: the compiled CLI in dist/, no TypeScript at run time. In a checkout
// whose dist/ is missing or older than the sources (a fresh clone, an edit) it builds first
// (scripts/build.ts without the type check, a minute at most, once), so `npx promoter` always
// runs the code next to it. Where only dist/ was shipped (the container image) it just runs it.
// It needs Node.js 22.12+; started by an older one, it hands over to the project's own Node.js
// (node_modules/.bin/node, which `npm ci` installs).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildIsFresh, hasSources } from './build-state.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);

if (major < 22 || (major === 22 && minor < 12)) {
  const own = `${root}node_modules/.bin/node`;
  if (!existsSync(own) || process.env.PROMOTER_NODE_HANDOVER) {
    process.stderr.write(`promoter: needs Node.js 22.12 or newer (this is ${process.version}); run \`npm ci\` to install the project's own\n`);
    process.exit(2);
  }
  const env = { ...process.env, PROMOTER_NODE_HANDOVER: '1' };
  const child = spawn(own, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  // A worker's graceful shutdown must reach the process that runs it.
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  if (hasSources(root) && !buildIsFresh(root)) {
    process.stderr.write('promoter: dist/ is missing or older than the sources: building it (scripts/build.ts)\n');
    const tsx = `${root}node_modules/tsx/dist/cli.mjs`;
    // The build's output goes to stderr: stdout is the command's (JSON with --json).
    const r = spawnSync(process.execPath, [tsx, `${root}scripts/build.ts`, '--if-stale', '--no-check'], { cwd: root, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) {
      process.stderr.write('promoter: the build failed; see above (or run `npm run build`)\n');
      process.exit(1);
    }
  }
  const { main } = await import('../dist/client/cli.js');
  process.exit(await main(process.argv));
}
