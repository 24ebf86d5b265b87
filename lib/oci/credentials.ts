// Registry credentials from a Docker config.json (auths, credHelpers,
// credsStore). Values stay inside Credential objects; nothing here logs them
// or copies them into error messages.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token ("identitytoken"), exchanged at the token realm. */
  identityToken?: string;
}

export interface CredentialStore {
  /** Credentials for a registry host ("host[:port]"), or undefined for anonymous access. */
  get(host: string): Promise<Credential | undefined>;
}

export class AnonymousCredentialStore implements CredentialStore {
  get(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** "https://index.docker.io/v1/" and "http://host:5000/" both key by "host[:port]". */
export function normaliseServer(server: string): string {
  let s = server.trim().replace(/^[a-z]+:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash >= 0) s = s.slice(0, slash);
  s = s.toLowerCase();
  if (s === 'index.docker.io' || s === 'registry-1.docker.io') s = 'docker.io';
  return s;
}

function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

export type HelperRunner = (helper: string, host: string) => Promise<string>;

/** Runs `docker-credential-<name> get` with the server on stdin, returns stdout. */
export const runCredentialHelper: HelperRunner = (helper, host) =>
  new Promise((resolve, reject) => {
    if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
      reject(new Error(`invalid credential helper name "${helper}"`));
      return;
    }
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.resume(); // helpers may echo what they got; never surface it
    child.on('error', (e) => reject(new Error(`credential helper docker-credential-${helper} could not run: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)));
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8');
      // "credentials not found" exits 1; treat as no credentials rather than failure.
      if (code === 0) resolve(text);
      else if (/credentials not found/i.test(text)) resolve('');
      else reject(new Error(`credential helper docker-credential-${helper} exited with ${code} for ${host}`));
    });
    child.stdin.end(host);
  });

export interface DockerConfigOptions {
  path?: string;
  env?: NodeJS.ProcessEnv;
  runHelper?: HelperRunner;
}

export class DockerConfigCredentialStore implements CredentialStore {
  private config?: Promise<DockerConfigFile>;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();
  private readonly path: string;
  private readonly runHelper: HelperRunner;

  constructor(opts: DockerConfigOptions = {}) {
    this.path = opts.path ?? dockerConfigPath(opts.env);
    this.runHelper = opts.runHelper ?? runCredentialHelper;
  }

  private load(): Promise<DockerConfigFile> {
    this.config ??= readFile(this.path, 'utf8').then(
      (t) => {
        try {
          return JSON.parse(t) as DockerConfigFile;
        } catch {
          // V8's JSON errors quote the text around the fault, which may be a password.
          throw new Error(`Docker config ${this.path} is not valid JSON`);
        }
      },
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return {};
        throw new Error(`cannot read Docker config ${this.path}: ${e.code ?? e.message}`);
      },
    );
    return this.config;
  }

  get(host: string): Promise<Credential | undefined> {
    const key = normaliseServer(host);
    let p = this.cache.get(key);
    if (!p) {
      p = this.resolve(key);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  private async resolve(host: string): Promise<Credential | undefined> {
    const cfg = await this.load();
    const helper = cfg.credHelpers?.[host] ?? findByServer(cfg.credHelpers, host);
    if (helper) return this.fromHelper(helper, host);
    const entry = cfg.auths?.[host] ?? findByServer(cfg.auths, host);
    if (entry) {
      const cred: Credential = {};
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        if (i < 0) throw new Error(`Docker config ${this.path}: malformed "auth" entry for ${host}`);
        cred.username = decoded.slice(0, i);
        cred.password = decoded.slice(i + 1);
      }
      if (entry.username) cred.username = entry.username;
      if (entry.password) cred.password = entry.password;
      if (entry.identitytoken) cred.identityToken = entry.identitytoken;
      if (cred.username || cred.password || cred.identityToken) return cred;
    }
    if (cfg.credsStore) return this.fromHelper(cfg.credsStore, host);
    return undefined;
  }

  private async fromHelper(helper: string, host: string): Promise<Credential | undefined> {
    const out = await this.runHelper(helper, host);
    if (!out.trim()) return undefined;
    let parsed: { Username?: string; Secret?: string };
    try {
      parsed = JSON.parse(out) as { Username?: string; Secret?: string };
    } catch {
      throw new Error(`credential helper docker-credential-${helper} returned malformed output for ${host}`);
    }
    if (!parsed.Secret) return undefined;
    // Docker's convention: username "<token>" marks an identity (refresh) token.
    if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
    return { username: parsed.Username ?? '', password: parsed.Secret };
  }
}

function findByServer<T>(map: Record<string, T> | undefined, host: string): T | undefined {
  if (!map) return undefined;
  for (const [k, v] of Object.entries(map)) if (normaliseServer(k) === host) return v;
  return undefined;
}
