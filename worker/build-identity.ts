/**
 * Which code this process runs, as Temporal's Worker Deployments name it: a deployment (the
 * service, PROMOTER_DEPLOYMENT_NAME, default the package name) and a build id. The build id is
 * PROMOTER_BUILD_ID when set, else the one `npm run build` baked into dist/build-info.json
 * (BUILD_ID at build time, else version and commit), else, running from the TypeScript sources,
 * the version and the checkout's commit.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { COMPILED } from '../workflows/location';

export interface BuildIdentity {
  deploymentName: string;
  buildId: string;
}

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

export interface GitState {
  commit: string;
  /** Uncommitted changes to the sources the build is made from. */
  dirty: boolean;
}

/**
 * The build id of one build: BUILD_ID when given, else version and commit (and a hash of
 * uncommitted sources), else version and source hash.
 */
export function buildIdOf(version: string, from: { env?: string | undefined; git?: GitState | undefined; sourceHash: string }): string {
  if (from.env) return from.env;
  if (from.git) return `${version}-${from.git.commit.slice(0, 12)}${from.git.dirty ? `-dirty-${from.sourceHash.slice(0, 8)}` : ''}`;
  return `${version}-src-${from.sourceHash.slice(0, 12)}`;
}

/** The checkout's commit and whether its sources differ from it; undefined outside a git checkout. */
export function gitState(cwd: string): GitState | undefined {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'lib', 'workflows', 'activities', 'worker', 'client', 'package.json', 'package-lock.json') !== '';
    return { commit, dirty };
  } catch {
    return undefined;
  }
}

function fromDist(): string | undefined {
  try {
    const info = JSON.parse(readFileSync(fileURLToPath(new URL('../build-info.json', import.meta.url)), 'utf8')) as { buildId?: string };
    return info.buildId;
  } catch {
    return undefined;
  }
}

/** Running from the sources: version and commit, `-dirty` with uncommitted changes. */
function fromGit(): string | undefined {
  const git = gitState(fileURLToPath(new URL('../', import.meta.url)));
  return git ? `${pkg.version}-${git.commit.slice(0, 12)}${git.dirty ? '-dirty' : ''}` : undefined;
}

export function buildIdentity(env: { deploymentName?: string | undefined; buildId?: string | undefined } = {}): BuildIdentity {
  const buildId = env.buildId || (COMPILED ? fromDist() : fromGit()) || `${pkg.version}-dev`;
  return { deploymentName: env.deploymentName || pkg.name, buildId };
}
