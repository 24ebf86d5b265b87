// Credentials of the dev stack, generated once on the first `up` and kept under .stack/:
//   .stack/secrets/  (0700)  passwords, htpasswd file, token-server users and signing key/cert
//   .stack/docker/config.json (0600)  Docker-style `auths` so every client uses the same logins
//   .stack/keys/     demo ECDSA P-256 signing key pair (private key 0600)
// Nothing here is ever printed: only paths are.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTokenKeyPair } from '../token-server';
import { stackPaths, toolPaths } from './paths';
import { STACK_USER, ports } from './topology';

export const secretFiles = {
  productionPassword: join(stackPaths.secrets, 'production.password'),
  productionHtpasswd: join(stackPaths.secrets, 'production.htpasswd'),
  tokenPassword: join(stackPaths.secrets, 'mirror-b.password'),
  tokenUsers: join(stackPaths.secrets, 'token-users'),
  tokenKey: join(stackPaths.secrets, 'token-signing.key'),
  tokenCert: join(stackPaths.secrets, 'token-signing.crt'),
  httpSecret: join(stackPaths.secrets, 'registry-http.secret'),
  /** The header production's notifications carry, which `promoter audit-receiver` checks. */
  auditWebhook: join(stackPaths.secrets, 'audit-webhook.secret'),
} as const;

function writeSecret(path: string, content: string) {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Reads a generated secret, creating it with `make` the first time. */
export function secretOnce(path: string, make: () => string): string {
  if (!existsSync(path)) writeSecret(path, make());
  return readFileSync(path, 'utf8').trim();
}

export const randomPassword = () => randomBytes(24).toString('base64url');

export interface Credentials {
  production: { username: string; password: string };
  mirrorB: { username: string; password: string };
}

/** Generates (first time) and returns every credential; idempotent and cheap afterwards. */
export function ensureCredentials(): Credentials {
  mkdirSync(stackPaths.secrets, { recursive: true, mode: 0o700 });
  chmodSync(stackPaths.secrets, 0o700);

  const production = { username: STACK_USER, password: secretOnce(secretFiles.productionPassword, randomPassword) };
  const mirrorB = { username: STACK_USER, password: secretOnce(secretFiles.tokenPassword, randomPassword) };

  secretOnce(secretFiles.httpSecret, randomPassword);
  secretOnce(secretFiles.auditWebhook, randomPassword);
  if (!existsSync(secretFiles.productionHtpasswd)) {
    writeSecret(secretFiles.productionHtpasswd, bcryptHtpasswd(production.username, production.password));
  }
  // token-server users file: one `user:password` per line, read only by the token server.
  const usersLine = `${mirrorB.username}:${mirrorB.password}\n`;
  if (!existsSync(secretFiles.tokenUsers) || readFileSync(secretFiles.tokenUsers, 'utf8') !== usersLine) {
    writeSecret(secretFiles.tokenUsers, usersLine);
  }
  ensureTokenKeyPair(secretFiles.tokenKey, secretFiles.tokenCert);

  writeDockerConfig(production, mirrorB);
  ensureSigningKeyPair();
  return { production, mirrorB };
}

/** bcrypt htpasswd line; the password goes through stdin (-i) so it never shows in a process list. */
function bcryptHtpasswd(user: string, password: string): string {
  const htpasswd = toolPaths().htpasswd;
  if (!htpasswd) throw new Error('htpasswd not found (apt-get install apache2-utils, or run: bash scripts/setup.sh)');
  const line = execFileSync(htpasswd, ['-nBi', user], { input: password, encoding: 'utf8' }).trim();
  if (!line.startsWith(`${user}:$2`)) throw new Error('htpasswd did not produce a bcrypt entry');
  return line + '\n';
}

function writeDockerConfig(production: Credentials['production'], mirrorB: Credentials['mirrorB']) {
  mkdirSync(stackPaths.docker, { recursive: true, mode: 0o700 });
  const basic = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
  const config = {
    auths: {
      [`127.0.0.1:${ports.production}`]: { auth: basic(production.username, production.password) },
      [`127.0.0.1:${ports.mirrorB}`]: { auth: basic(mirrorB.username, mirrorB.password) },
    },
  };
  const content = JSON.stringify(config, null, 2) + '\n';
  if (!existsSync(stackPaths.dockerConfig) || readFileSync(stackPaths.dockerConfig, 'utf8') !== content) {
    writeSecret(stackPaths.dockerConfig, content);
  }
}

/** Demo signing key pair: ECDSA P-256, PKCS#8 private key (0600) and SPKI public key, both PEM. */
function ensureSigningKeyPair() {
  if (existsSync(stackPaths.signingKey) && existsSync(stackPaths.publicKey)) return;
  mkdirSync(stackPaths.keys, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeSecret(stackPaths.signingKey, privateKey);
  writeFileSync(stackPaths.publicKey, publicKey, { mode: 0o644 });
}
