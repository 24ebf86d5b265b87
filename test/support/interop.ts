// The clients users run against what the promoter publishes (helm, oras, regctl, crane), as test
// oracles: found in $PROMOTER_<NAME>, the project's .tools/bin or PATH, and run with the dev stack's
// trust (the stack CA for its HTTPS registries, plain HTTP for the others) and credentials.
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tlsFiles } from '../../scripts/dev/stack';
import { runProcess, type ProcessResult } from '../../scripts/dev/run-process';
import { stack } from './stack-env';

export type InteropTool = 'helm' | 'oras' | 'regctl' | 'crane';

const TOOLS_BIN = fileURLToPath(new URL('../../.tools/bin', import.meta.url));

function executable(path: string | undefined): path is string {
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findTool(name: InteropTool): string | undefined {
  const fromEnv = process.env[`PROMOTER_${name.toUpperCase()}`];
  if (executable(fromEnv)) return fromEnv;
  if (executable(join(TOOLS_BIN, name))) return join(TOOLS_BIN, name);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && executable(join(dir, name))) return join(dir, name);
  return undefined;
}

/**
 * Undefined when every tool is there; otherwise the reason to skip, printed once so a skipped
 * interop test says why (scripts/setup.sh builds them unless PROMOTER_SKIP_INTEROP=1).
 */
export function missingTools(...names: InteropTool[]): string | undefined {
  const missing = names.filter((n) => !findTool(n));
  if (missing.length === 0) return undefined;
  const why = `${missing.join(', ')} not found (scripts/setup.sh builds them into .tools/bin unless PROMOTER_SKIP_INTEROP=1): skipping`;
  process.stderr.write(`interop: ${why}\n`);
  return why;
}

/** Whether the dev stack serves this registry host over TLS (it has a certs.d entry). */
function speaksTls(host: string): boolean {
  try {
    accessSync(join(stack().registryCertsDir, host, 'ca.crt'), constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** helm and oras: the stack CA and the Docker config for an HTTPS registry, plain HTTP for the others. */
export function registryFlags(host: string): string[] {
  return speaksTls(host) ? ['--ca-file', tlsFiles.caCert, '--registry-config', stack().dockerConfigFile] : ['--plain-http'];
}

export interface ToolResult extends ProcessResult {
  command: string;
}

let home: string | undefined;

/**
 * A private HOME (helm and oras keep caches and settings there) and a regctl configuration that
 * names the plain-HTTP registries; Go's TLS trusts the stack CA through SSL_CERT_FILE.
 */
function toolEnv(): Record<string, string> {
  const s = stack();
  if (!home) {
    home = mkdtempSync(join(tmpdir(), 'promoter-interop-'));
    const plain = Object.values(s.registries.all).filter((h) => !speaksTls(h));
    const hosts = Object.fromEntries(plain.map((h) => [h, { hostname: h, tls: 'disabled' }]));
    writeFileSync(join(home, 'regctl.json'), JSON.stringify({ hosts }));
  }
  return { HOME: home, DOCKER_CONFIG: s.dockerConfigDir, SSL_CERT_FILE: tlsFiles.caCert, REGCTL_CONFIG: join(home, 'regctl.json'), NO_COLOR: '1' };
}

async function runTool(name: InteropTool, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ToolResult> {
  const bin = findTool(name);
  if (!bin) throw new Error(`${name} not found: run scripts/setup.sh or set PROMOTER_${name.toUpperCase()}`);
  const r = await runProcess(bin, args, toolEnv(), opts.timeoutMs ?? 120_000, opts.cwd);
  return { ...r, command: `${name} ${args.join(' ')}` };
}

/** Runs the tool and fails with its output unless it exits 0. */
export async function runToolOk(name: InteropTool, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ToolResult> {
  const r = await runTool(name, args, opts);
  if (r.code !== 0) throw new Error(`${r.command} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}
