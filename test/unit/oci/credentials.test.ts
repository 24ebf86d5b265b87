import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerConfigCredentialStore, normaliseServer, runCredentialHelper } from '../../../lib/oci/credentials';

async function configDir(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'oci-cred-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('DockerConfigCredentialStore', () => {
  it('reads base64 auth, username/password and identity tokens, keyed by host whatever the URL form', async () => {
    const dir = await configDir({
      auths: {
        '127.0.0.1:5002': { auth: Buffer.from('alice:pa:ss').toString('base64') },
        'https://reg.example.com/v1/': { username: 'bob', password: 'pw' },
        'tok.example.com': { identitytoken: 'refresh-me' },
      },
    });
    const store = new DockerConfigCredentialStore({ env: { DOCKER_CONFIG: dir } });
    expect(await store.get('127.0.0.1:5002')).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(await store.get('reg.example.com')).toEqual({ username: 'bob', password: 'pw' });
    expect(await store.get('tok.example.com')).toEqual({ identityToken: 'refresh-me' });
    expect(await store.get('other.example.com')).toBeUndefined();
  });

  it('does not quote a malformed config (it may hold passwords) in its error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-cred-'));
    await writeFile(join(dir, 'config.json'), '{"auths": {"h.io": {"auth": "c2VjcmV0OnB3ZA=="} ');
    const err = await new DockerConfigCredentialStore({ env: { DOCKER_CONFIG: dir } }).get('h.io').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/not valid JSON/);
    expect((err as Error).message).not.toContain('c2VjcmV0');
  });

  it('is anonymous when the config file does not exist', async () => {
    const store = new DockerConfigCredentialStore({ path: join(tmpdir(), 'does-not-exist', 'config.json') });
    expect(await store.get('x.io')).toBeUndefined();
  });

  it('runs docker-credential-<helper> get with the host on stdin (credHelpers before credsStore)', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'oci-helper-'));
    // A real helper program: echoes the host it was asked about into the username.
    const script = `#!/bin/sh\n[ "$1" = get ] || exit 2\nread host\ncase "$host" in\n  none.example.com) echo "credentials not found in native keychain"; exit 1;;\n  tok.example.com) printf '{"ServerURL":"%s","Username":"<token>","Secret":"idtok"}' "$host";;\n  *) printf '{"ServerURL":"%s","Username":"user-%s","Secret":"s3cret"}' "$host" "$host";;\nesac\n`;
    for (const name of ['docker-credential-fake', 'docker-credential-store']) {
      await writeFile(join(bin, name), script.replace('user-', name.endsWith('fake') ? 'helper-' : 'store-'));
      await chmod(join(bin, name), 0o755);
    }
    const dir = await configDir({
      credHelpers: { 'h.example.com': 'fake' },
      credsStore: 'store',
      auths: { 'a.example.com': { auth: Buffer.from('u:p').toString('base64') } },
    });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const store = new DockerConfigCredentialStore({ env: { DOCKER_CONFIG: dir } });
      expect(await store.get('h.example.com')).toEqual({ username: 'helper-h.example.com', password: 's3cret' });
      expect(await store.get('a.example.com')).toEqual({ username: 'u', password: 'p' });
      expect(await store.get('z.example.com')).toEqual({ username: 'store-z.example.com', password: 's3cret' });
      expect(await store.get('tok.example.com')).toEqual({ identityToken: 'idtok' });
      expect(await store.get('none.example.com')).toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });

  it('never puts a secret into a helper error', async () => {
    await expect(runCredentialHelper('no-such-helper-xyz', 'h.io')).rejects.toThrow(/could not run/);
    await expect(runCredentialHelper('bad name;rm', 'h.io')).rejects.toThrow(/invalid credential helper/);
  });
});

describe('normaliseServer', () => {
  it('strips scheme and path, maps Docker Hub aliases', () => {
    expect(normaliseServer('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseServer('http://127.0.0.1:5002/')).toBe('127.0.0.1:5002');
    expect(normaliseServer('Reg.Example.com')).toBe('reg.example.com');
  });
});
