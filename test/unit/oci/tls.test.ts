// certs.d reading in the containers/Docker layout, and which socket errors mean what.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateError, certsDirsFromEnv, isNotTlsError, loadHostTls } from '../../../lib/oci/tls';

const PEM = (label: string) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(label).toString('base64')}\n-----END CERTIFICATE-----\n`;

describe('certs.d folders', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    a = await mkdtemp(join(tmpdir(), 'certs-a-'));
    b = await mkdtemp(join(tmpdir(), 'certs-b-'));
    await mkdir(join(a, 'reg.example:5000'));
    await writeFile(join(a, 'reg.example:5000', 'ca.crt'), PEM('ca one'));
    await writeFile(join(a, 'reg.example:5000', 'client.cert'), 'client cert');
    await writeFile(join(a, 'reg.example:5000', 'client.key'), 'client key');
    await writeFile(join(a, 'reg.example:5000', 'notes.txt'), 'ignored');
    await mkdir(join(b, 'reg.example:5000'));
    await writeFile(join(b, 'reg.example:5000', 'other.crt'), PEM('ca two'));
    await mkdir(join(b, 'half.example'));
    await writeFile(join(b, 'half.example', 'client.cert'), 'a certificate without its key');
  });
  afterAll(async () => {
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  });

  it('adds every *.crt of the host folder in every dir to the system roots, and takes *.cert + *.key as the client certificate', () => {
    const tls = loadHostTls('reg.example:5000', [a, b]);
    expect(tls.ca).toEqual([...rootCertificates, PEM('ca one'), PEM('ca two')]);
    expect(tls.cert).toBe('client cert');
    expect(tls.key).toBe('client key');
    expect(tls.sources).toEqual([join(a, 'reg.example:5000', 'ca.crt'), join(a, 'reg.example:5000', 'client.cert'), join(b, 'reg.example:5000', 'other.crt')]);
  });

  it('matches the exact host:port only, and leaves the system roots alone when there is nothing', () => {
    expect(loadHostTls('reg.example', [a, b])).toEqual({ sources: [] });
    expect(loadHostTls('reg.example:5001', [a, b, join(a, 'missing')])).toEqual({ sources: [] });
  });

  it('refuses a client certificate without its key', () => {
    expect(() => loadHostTls('half.example', [b])).toThrow(/client\.cert has no matching client\.key/);
  });

  it('reads the folders from PROMOTER_REGISTRY_CERTS_DIR, else the containers and Docker defaults', () => {
    expect(certsDirsFromEnv({ PROMOTER_REGISTRY_CERTS_DIR: `${a}:${b}` })).toEqual([a, b]);
    expect(certsDirsFromEnv({})).toEqual(['/etc/containers/certs.d', '/etc/docker/certs.d']);
  });
});

describe('TLS error classification', () => {
  const wrapped = (code: string, message = code) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(message), { code }) });

  it('names the host and the problem of a refused certificate, never retryable', () => {
    for (const [code, says] of [
      ['SELF_SIGNED_CERT_IN_CHAIN', /untrusted issuer/],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /untrusted issuer/],
      ['ERR_TLS_CERT_ALTNAME_INVALID', /another host name/],
      ['CERT_HAS_EXPIRED', /expired/],
    ] as const) {
      const err = certificateError(wrapped(code), 'reg.example:5000');
      expect(err, code).toMatchObject({ code: 'TLS', retryable: false, registry: 'reg.example:5000' });
      expect(err!.message).toMatch(says);
      expect(err!.message).toContain('reg.example:5000');
    }
    expect(certificateError(wrapped('ECONNREFUSED'), 'reg.example')).toBeUndefined();
  });

  it('tells a server that does not speak TLS from other failures', () => {
    expect(isNotTlsError(wrapped('ERR_SSL_WRONG_VERSION_NUMBER'))).toBe(true);
    expect(isNotTlsError(Object.assign(new Error('x'), { code: 'EPROTO', message: 'wrong version number' }))).toBe(true);
    expect(isNotTlsError(Object.assign(new Error('handshake failure'), { code: 'EPROTO' }))).toBe(false);
    expect(isNotTlsError(wrapped('ECONNRESET'))).toBe(false);
    expect(isNotTlsError(wrapped('CERT_HAS_EXPIRED'))).toBe(false);
  });
});
