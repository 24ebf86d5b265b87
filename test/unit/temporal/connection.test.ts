// The Temporal settings every promoter process reads (envconfig: variables and temporal.toml
// profiles), and the one line each connection failure becomes. The failure texts are the ones the
// SDK's native transport reported against a TLS proxy with client-certificate verification.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTemporal, explainTemporalFailure, loadTemporalSettings, TemporalSettingsError } from '../../../worker/connection';

const dir = mkdtempSync(join(tmpdir(), 'promoter-temporal-settings-'));
const file = (name: string, text = `-----BEGIN ${name}-----\n-----END ${name}-----\n`) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const ca = file('ca.crt');
const crt = file('client.crt');
const key = file('client.key');
// No temporal.toml of the machine's user leaks into these tests.
const base = { HOME: dir, TEMPORAL_CONFIG_FILE: join(dir, 'absent.toml') };

describe('loadTemporalSettings', () => {
  it('defaults to the dev stack: 127.0.0.1:7233, namespace default, no TLS', () => {
    const s = loadTemporalSettings(base);
    expect(s).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', tls: 'off', apiKey: false, source: 'environment' });
    expect(s.connectionOptions.tls).toBeFalsy();
  });

  it('reads mTLS from TEMPORAL_TLS_* and passes the files to the connection', () => {
    const s = loadTemporalSettings({
      ...base,
      TEMPORAL_ADDRESS: 'temporal.example:7243',
      TEMPORAL_NAMESPACE: 'promotions',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_CLIENT_CERT_PATH: crt,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.example',
    });
    expect(s).toMatchObject({
      address: 'temporal.example:7243',
      namespace: 'promotions',
      tls: 'mutual',
      serverCa: ca,
      clientCert: crt,
      serverName: 'frontend.temporal.example',
    });
    const tls = s.connectionOptions.tls as {
      serverRootCACertificate?: Uint8Array;
      clientCertPair?: { crt: Uint8Array; key: Uint8Array };
      serverNameOverride?: string;
    };
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toContain('BEGIN ca.crt');
    expect(Buffer.from(tls.clientCertPair!.key).toString()).toContain('BEGIN client.key');
    expect(tls.serverNameOverride).toBe('frontend.temporal.example');
  });

  it('an API key turns TLS on (with the system CAs) and never shows in the description', () => {
    const s = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret-key-123' });
    expect(s).toMatchObject({ tls: 'server', apiKey: true });
    expect(s.connectionOptions.apiKey).toBe('secret-key-123');
    expect(s.connectionOptions.tls).toBe(true);
    expect(describeTemporal(s)).not.toContain('secret-key-123');
    expect(describeTemporal(s)).toContain('API key');
  });

  it('reads a temporal.toml profile chosen by TEMPORAL_PROFILE; variables override it', () => {
    const toml = file(
      'temporal.toml',
      [
        '[profile.cluster]',
        'address = "127.0.0.1:7243"',
        'namespace = "default"',
        '[profile.cluster.tls]',
        `server_ca_cert_path = "${ca}"`,
        `client_cert_path = "${crt}"`,
        `client_key_path = "${key}"`,
        '',
      ].join('\n'),
    );
    const s = loadTemporalSettings({ HOME: dir, TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cluster' });
    expect(s).toMatchObject({ address: '127.0.0.1:7243', tls: 'mutual', clientCert: crt, source: `profile "cluster" of ${toml}` });
    expect(loadTemporalSettings({ HOME: dir, TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cluster', TEMPORAL_NAMESPACE: 'other' }).namespace).toBe('other');
  });

  it('refuses, naming the setting: a missing profile, a missing file, a certificate without its key, an empty API key, no host verification', () => {
    const toml = file('one.toml', '[profile.default]\naddress = "127.0.0.1:7233"\n');
    const cases: [Record<string, string>, RegExp][] = [
      [{ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' }, /TEMPORAL_PROFILE=prod: no such profile in .*one\.toml/],
      [{ ...base, TEMPORAL_PROFILE: 'prod' }, /TEMPORAL_PROFILE=prod: no such profile .*the file does not exist/],
      [{ ...base, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'nope.crt') }, /^TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read .*nope\.crt: ENOENT/],
      [{ ...base, TEMPORAL_TLS_CLIENT_CERT_PATH: crt }, /client certificate is set without its pair: set TEMPORAL_TLS_CLIENT_KEY_PATH/],
      [{ ...base, TEMPORAL_TLS_CLIENT_KEY_PATH: key }, /client key is set without its pair: set TEMPORAL_TLS_CLIENT_CERT_PATH/],
      [{ ...base, TEMPORAL_API_KEY: '' }, /TEMPORAL_API_KEY is set but empty/],
      [{ ...base, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }, /not supported: set TEMPORAL_TLS_SERVER_NAME/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadTemporalSettings({ HOME: dir, ...env }), JSON.stringify(env)).toThrow(TemporalSettingsError);
      expect(() => loadTemporalSettings({ HOME: dir, ...env }), JSON.stringify(env)).toThrow(message);
    }
  });
});

describe('explainTemporalFailure', () => {
  const tlsFiles = { TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca, TEMPORAL_TLS_CLIENT_CERT_PATH: crt, TEMPORAL_TLS_CLIENT_KEY_PATH: key };
  const mtls = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: '127.0.0.1:7243', ...tlsFiles });
  const plain = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: '127.0.0.1:7243' });
  const keyed = loadTemporalSettings({ ...base, TEMPORAL_ADDRESS: '127.0.0.1:7253', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca });
  const transport = (message: string) => Object.assign(new Error(message), { name: 'TransportError' });
  const cases: [string, Error, typeof mtls, RegExp, string?][] = [
    [
      'untrusted server',
      transport('tonic::transport::Error(Transport, ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))'),
      mtls,
      /presented a certificate that no trusted CA signed: set TEMPORAL_TLS_SERVER_CA_CERT_PATH .*\(.*ca\.crt did not\)/,
    ],
    [
      'wrong name',
      transport('InvalidCertificate(NotValidForNameContext { expected: DnsName("wrong.example"), presented: ["DnsName(\\"localhost\\")"] })'),
      mtls,
      /not valid for 127\.0\.0\.1: set TEMPORAL_TLS_SERVER_NAME/,
    ],
    [
      'client certificate refused',
      transport(
        'Failed to call GetSystemInfo: code: \'The operation was cancelled\', message: "operation was canceled", source: hyper::Error(Canceled, "connection closed")',
      ),
      mtls,
      /refused the client certificate .*client\.crt/,
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA error:0A000418:SSL routines::tlsv1 alert unknown ca',
    ],
    [
      'no client certificate',
      transport('hyper::Error(Canceled, "connection closed")'),
      keyed,
      /requires a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED error:0A00045C:SSL routines::tlsv13 alert certificate required',
    ],
    ['bad API key', transport('Failed to call GetSystemInfo: code: \'Unauthenticated\', message: "invalid API key"'), keyed, /refused the API key/],
    [
      'plain to TLS',
      transport('h2 protocol error: http2 error ... GoAway(b"", FRAME_SIZE_ERROR, Library)'),
      plain,
      /did not answer plain gRPC .*set TEMPORAL_TLS=true/,
    ],
    [
      'plain to TLS, the connection closed (a TLS handshake answered)',
      transport('Failed to call GetSystemInfo: ... kind: BrokenPipe, error: "stream closed because of a broken pipe"'),
      plain,
      /did not answer plain gRPC/,
      'the server speaks TLS',
    ],
    ['TLS to plain', transport('ConnectError(Custom { kind: InvalidData, error: InvalidMessage(InvalidContentType) })'), mtls, /does not speak TLS/],
    ['nothing there', transport('tcp connect error ... ConnectionRefused'), plain, /is not reachable .*eval "\$\(npm run -s stack -- env\)"/],
    ['silent server', Object.assign(new Error('no answer within 10s'), { name: 'TimeoutError' }), plain, /did not answer in time/],
  ];
  for (const [name, err, settings, message, seen] of cases) {
    it(name, () => {
      const explained = explainTemporalFailure(err, settings, seen);
      expect(explained.message).toMatch(message);
      expect(explained.message).toContain(`Temporal at ${settings.address}`);
      expect(explained.message).not.toContain('\n');
    });
  }
});
