// Where the dev stack keeps its state: everything lives under the git-ignored .stack/
// folder of the project, and tools installed by scripts/setup.sh under .tools/.
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const stackDir = join(projectRoot, '.stack');
const toolsDir = join(projectRoot, '.tools');

export const stackPaths = {
  root: projectRoot,
  stack: stackDir,
  logs: join(stackDir, 'logs'),
  pids: join(stackDir, 'pids'),
  config: join(stackDir, 'config'),
  secrets: join(stackDir, 'secrets'),
  registries: join(stackDir, 'registries'),
  s3: join(stackDir, 's3'),
  tls: join(stackDir, 'tls'),
  certsDir: join(stackDir, 'certs.d'),
  temporal: join(stackDir, 'temporal'),
  temporalDb: join(stackDir, 'temporal', 'temporal.db'),
  docker: join(stackDir, 'docker'),
  dockerConfig: join(stackDir, 'docker', 'config.json'),
  keys: join(stackDir, 'keys'),
  signingKey: join(stackDir, 'keys', 'promoter.key'),
  publicKey: join(stackDir, 'keys', 'promoter.pub'),
  upLock: join(stackDir, 'up.lock'),
  tools: toolsDir,
  venvBin: join(toolsDir, 'venv', 'bin'),
  toolsBin: join(toolsDir, 'bin'),
  tokenServerScript: join(projectRoot, 'scripts', 'dev', 'token-server.ts'),
} as const;

/** Finds an executable on PATH; undefined when absent. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Prefers the project-pinned copy in `preferredDir`, then falls back to PATH. */
function toolPath(name: string, preferredDir: string): string | undefined {
  const pinned = join(preferredDir, name);
  return existsSync(pinned) ? pinned : onPath(name);
}

/** Absolute paths of the external binaries the stack and tests use (undefined when missing). */
export function toolPaths() {
  return {
    temporal: toolPath('temporal', stackPaths.venvBin),
    versitygw: toolPath('versitygw', stackPaths.toolsBin),
    olareg: toolPath('olareg', stackPaths.toolsBin),
    cosign: toolPath('cosign', stackPaths.toolsBin),
    /** The benchmark's copy peer (regclient). */
    regsync: toolPath('regsync', stackPaths.toolsBin),
    registry: onPath('docker-registry') ?? (existsSync('/usr/bin/docker-registry') ? '/usr/bin/docker-registry' : undefined),
    skopeo: onPath('skopeo'),
    htpasswd: onPath('htpasswd'),
    openssl: onPath('openssl'),
  };
}
