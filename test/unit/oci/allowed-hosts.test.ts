// Which hosts the worker speaks to: the operator's globs, and the addresses no wildcard reaches.
import { describe, expect, it } from 'vitest';
import { AllowedHosts, parseAllowedRegistries, specialAddress, type Resolver } from '../../../lib/oci/allowed-hosts';

describe('AllowedHosts globs', () => {
  const hosts = new AllowedHosts(['registry.k8s.io', '*.pkg.dev', '127.0.0.1:*', 'reg.internal:5000']);

  it('matches hosts by glob, ports as written', () => {
    expect(hosts.allows('registry.k8s.io')).toBe(true);
    expect(hosts.allows('registry.k8s.io:443')).toBe(true);
    expect(hosts.allows('REGISTRY.K8S.IO')).toBe(true);
    expect(hosts.allows('registry.k8s.io:5000')).toBe(false); // a glob without a port: the default port only
    expect(hosts.allows('us-docker.pkg.dev')).toBe(true);
    expect(hosts.allows('a.b.pkg.dev')).toBe(true);
    expect(hosts.allows('pkg.dev')).toBe(false);
    expect(hosts.allows('evilpkg.dev')).toBe(false);
    expect(hosts.allows('us-docker.pkg.dev.attacker.example')).toBe(false);
    expect(hosts.allows('127.0.0.1:5001')).toBe(true);
    expect(hosts.allows('127.0.0.1')).toBe(true);
    expect(hosts.allows('reg.internal:5000')).toBe(true);
    expect(hosts.allows('reg.internal:5001')).toBe(false);
    expect(hosts.refusal('quay.io')).toBe('quay.io is not allowed by PROMOTER_ALLOWED_REGISTRIES=registry.k8s.io,*.pkg.dev,127.0.0.1:*,reg.internal:5000');
  });

  it('reaches loopback, link-local and metadata addresses only where a glob names them', () => {
    expect(hosts.allows('127.0.0.1:5002')).toBe(true); // named
    expect(hosts.allows('localhost:5002')).toBe(false); // not in the list at all
    const wide = new AllowedHosts(['*:*']);
    expect(wide.allows('registry.example.com:5000')).toBe(true);
    for (const h of [
      '127.0.0.1:5000',
      'localhost:5000',
      '[::1]:5000',
      '169.254.169.254',
      '169.254.10.1:80',
      '[fd00:ec2::254]',
      '[fe80::1]:5000',
      'metadata.google.internal',
      '0.0.0.0:5000',
      '[::ffff:127.0.0.1]:5000',
    ]) {
      expect(wide.allows(h), h).toBe(false);
    }
    expect(wide.refusal('169.254.169.254')).toBe(
      '169.254.169.254 is a cloud-metadata address, allowed only when PROMOTER_ALLOWED_REGISTRIES names it (e.g. 169.254.169.254:*)',
    );
    expect(new AllowedHosts(['127.0.0.*:*']).allows('127.0.0.1:5000')).toBe(false); // a wildcard never names
    expect(new AllowedHosts(['[::1]:*']).allows('[::1]:5000')).toBe(true);
    expect(new AllowedHosts(['169.254.169.254']).allows('169.254.169.254')).toBe(true);
  });

  it('by default allows any host but the special addresses', () => {
    const def = new AllowedHosts();
    expect(def.allows('registry.k8s.io')).toBe(true);
    expect(def.allows('gcr.io:8443')).toBe(true);
    expect(def.allows('127.0.0.1:5001')).toBe(false);
    expect(def.refusal('localhost:5000')).toMatch(/^localhost:5000 is a loopback address, allowed only when PROMOTER_ALLOWED_REGISTRIES names it/);
    expect(AllowedHosts.fromEnv({}).allows('127.0.0.1:5001')).toBe(false);
    expect(AllowedHosts.fromEnv({ PROMOTER_ALLOWED_REGISTRIES: '127.0.0.1:*,localhost:*' }).allows('localhost:5005')).toBe(true);
  });

  it('refuses a value that is not a list of host globs', () => {
    expect(parseAllowedRegistries(' a.io , *.b.io:*,, ')).toEqual(['a.io', '*.b.io:*']);
    expect(parseAllowedRegistries(undefined)).toEqual([]);
    for (const bad of ['https://a.io', 'a.io/path', 'a.io:port', 'a b', 'fd00::1'])
      expect(() => parseAllowedRegistries(bad), bad).toThrow(/is not a host glob/);
  });

  it('knows the special addresses', () => {
    expect(specialAddress('127.1.2.3')).toBe('loopback');
    expect(specialAddress('app.localhost')).toBe('loopback');
    expect(specialAddress('0:0:0:0:0:0:0:1')).toBe('loopback');
    expect(specialAddress('169.254.0.1')).toBe('link-local');
    expect(specialAddress('100.100.100.200')).toBe('cloud-metadata');
    expect(specialAddress('10.0.0.1')).toBeUndefined(); // private networks hold real registries
    expect(specialAddress('registry.k8s.io')).toBeUndefined();
  });
});

describe('AllowedHosts lookup (what a name resolves to)', () => {
  const resolveTo =
    (address: string, family = 4): Resolver =>
    (_h, _o, cb) =>
      cb(null, [{ address, family }]);
  const lookup = (hosts: AllowedHosts, name: string, all = false) =>
    new Promise<{ err?: NodeJS.ErrnoException; address?: unknown }>((resolve) =>
      hosts.lookup(name, { all }, (err: NodeJS.ErrnoException | null, address: unknown) => resolve(err ? { err } : { address })),
    );

  it('refuses a name a wildcard allowed when it resolves to loopback or metadata', async () => {
    const r = await lookup(new AllowedHosts(['*:*'], resolveTo('169.254.169.254')), 'innocent.example');
    expect(r.err?.code).toBe('ERR_PROMOTER_HOST_NOT_ALLOWED');
    expect(r.err?.message).toBe(
      'innocent.example resolves to 169.254.169.254, a cloud-metadata address: allowed only when PROMOTER_ALLOWED_REGISTRIES names innocent.example',
    );
    expect((await lookup(new AllowedHosts(['*:*'], resolveTo('127.0.0.1')), 'rebind.example')).err?.code).toBe('ERR_PROMOTER_HOST_NOT_ALLOWED');
  });

  it('passes names the operator named, and ordinary addresses, in both lookup forms', async () => {
    expect(await lookup(new AllowedHosts(['localhost:*'], resolveTo('127.0.0.1')), 'localhost')).toEqual({ address: '127.0.0.1' });
    expect(await lookup(new AllowedHosts(['*:*'], resolveTo('203.0.113.7')), 'registry.example')).toEqual({ address: '203.0.113.7' });
    expect(await lookup(new AllowedHosts(['*:*'], resolveTo('203.0.113.7')), 'registry.example', true)).toEqual({
      address: [{ address: '203.0.113.7', family: 4 }],
    });
  });
});
