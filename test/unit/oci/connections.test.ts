// Connection pools per host: each host's own TLS settings (a client certificate on its host's pools
// only), a bounded number of hosts, and HTTPS without a probe for every host that may not speak HTTP.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AllowedHosts } from '../../../lib/oci/allowed-hosts';
import { Connections } from '../../../lib/oci/connections';
import { isLoopbackHost } from '../../../lib/oci/reference';

const made: Connections[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.close()));
});

function connections(certsDirs: string[] = [], maxHosts?: number) {
  const c = new Connections({
    certsDirs,
    hosts: new AllowedHosts(['*:*']),
    allowHttp: isLoopbackHost,
    probeTimeoutMs: 1000,
    ...(maxHosts ? { maxHosts } : {}),
  });
  made.push(c);
  return c;
}

describe('Connections', () => {
  it('gives each host its own pools, and the client certificate only to the host whose folder holds it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certs-d-'));
    mkdirSync(join(dir, 'mtls.example:5000'));
    writeFileSync(join(dir, 'mtls.example:5000', 'client.cert'), 'CERT');
    writeFileSync(join(dir, 'mtls.example:5000', 'client.key'), 'KEY');
    const c = connections([dir]);
    const own = c.for('mtls.example:5000');
    const other = c.for('storage.example');
    expect(own.tls.cert).toBe('CERT');
    expect(other.tls.cert).toBeUndefined();
    expect(other.dispatcher).not.toBe(own.dispatcher);
    expect(other.httpsAgent).not.toBe(own.httpsAgent);
    expect(c.for('MTLS.example:5000')).toBe(own);
  });

  it('keeps the pools of a bounded number of hosts, the least recently used closed', () => {
    const c = connections([], 2);
    const a = c.for('a.example');
    c.for('b.example');
    c.for('a.example');
    c.for('c.example');
    expect(c.tlsOf('a.example')).toBe(a.tls);
    expect(c.tlsOf('b.example')).toBeUndefined();
    expect(c.for('b.example')).not.toBe(undefined);
  });

  it('speaks HTTPS to a host that may not speak plain HTTP, without probing it', async () => {
    const c = connections();
    expect(await c.schemeFor('registry.example:5000')).toBe('https');
    expect(c.tlsOf('registry.example:5000')).toBeUndefined(); // no pool was even opened
  });
});
