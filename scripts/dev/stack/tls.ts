// TLS material of the dev stack, made with openssl on the first `up` and kept under .stack/tls:
//   ca.key (0600) / ca.crt         a local CA, valid ten years
//   server.key (0600) / server.crt  one certificate for 127.0.0.1 and localhost, signed by the CA,
//                                   served by production, mirror-b and the token server
// and the trust folder every client reads, in the containers/Docker certs.d layout:
//   .stack/certs.d/<host:port>/ca.crt   (PROMOTER_REGISTRY_CERTS_DIR, skopeo --cert-dir)
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackPaths, toolPaths } from './paths';
import { tlsHosts } from './topology';

export const tlsFiles = {
  caKey: join(stackPaths.tls, 'ca.key'),
  caCert: join(stackPaths.tls, 'ca.crt'),
  serverKey: join(stackPaths.tls, 'server.key'),
  serverCert: join(stackPaths.tls, 'server.crt'),
} as const;

const DAY_MS = 86_400_000;

function openssl(args: string[], cwd?: string): void {
  const bin = toolPaths().openssl;
  if (!bin) throw new Error('openssl not found (apt-get install openssl, or run: bash scripts/setup.sh)');
  try {
    execFileSync(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`);
  }
}

/** openssl's ASN.1 time form, e.g. 20300101000000Z. */
const asn1Time = (date: Date) =>
  date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Creates a self-signed CA (ECDSA P-256) at keyPath/certPath. */
export function createCa(keyPath: string, certPath: string, commonName: string, days = 3650): void {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-sha256',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    String(days),
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  chmodSync(keyPath, 0o600);
}

export interface IssueOptions {
  caKey: string;
  caCert: string;
  keyOut: string;
  certOut: string;
  /** DNS names and IP addresses the certificate is for (subjectAltName). */
  hosts: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
  /** serverAuth (default) or clientAuth, for a client certificate. */
  extendedKeyUsage?: 'serverAuth' | 'clientAuth';
}

/**
 * Issues a server certificate signed by the CA. `openssl ca` (not `x509 -req`) because only it
 * takes explicit start and end dates, which tests need for an already expired certificate.
 */
export function issueServerCertificate(opts: IssueOptions): void {
  const work = mkdtempSync(join(tmpdir(), 'promoter-tls-'));
  try {
    const notBefore = opts.notBefore ?? new Date(Date.now() - DAY_MS);
    const notAfter = opts.notAfter ?? new Date(Date.now() + 825 * DAY_MS);
    const san = opts.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
    writeFileSync(join(work, 'index.txt'), '');
    writeFileSync(join(work, 'serial'), `${BigInt(Date.now()).toString(16).padStart(16, '0')}\n`);
    writeFileSync(
      join(work, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = dev',
        '[dev]',
        'database = index.txt',
        'new_certs_dir = .',
        'serial = serial',
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        '[any]',
        'commonName = supplied',
        '[server]',
        'basicConstraints = critical,CA:FALSE',
        'keyUsage = critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage = ${opts.extendedKeyUsage ?? 'serverAuth'}`,
        `subjectAltName = ${san}`,
        '',
      ].join('\n'),
    );
    openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      opts.keyOut,
      '-out',
      join(work, 'server.csr'),
      '-subj',
      `/CN=${opts.hosts[0] ?? 'server'}`,
    ]);
    chmodSync(opts.keyOut, 0o600);
    openssl(
      [
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-extensions',
        'server',
        '-notext',
        '-cert',
        opts.caCert,
        '-keyfile',
        opts.caKey,
        '-in',
        'server.csr',
        '-out',
        opts.certOut,
        '-startdate',
        asn1Time(notBefore),
        '-enddate',
        asn1Time(notAfter),
      ],
      work,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Still valid for at least `days`, and signed by the CA at `caPath`. */
export function certificateUsable(certPath: string, caPath: string, days: number): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    const ca = new X509Certificate(readFileSync(caPath));
    return Date.parse(cert.validTo) - Date.now() > days * DAY_MS && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** Makes the CA (once), a fresh-enough server certificate and the certs.d trust folder. Idempotent. */
export function ensureTlsMaterial(): void {
  mkdirSync(stackPaths.tls, { recursive: true, mode: 0o700 });
  chmodSync(stackPaths.tls, 0o700);
  if (!existsSync(tlsFiles.caKey) || !existsSync(tlsFiles.caCert)) {
    createCa(tlsFiles.caKey, tlsFiles.caCert, 'promoter dev stack CA');
    rmSync(tlsFiles.serverCert, { force: true });
  }
  if (!certificateUsable(tlsFiles.serverCert, tlsFiles.caCert, 30)) {
    issueServerCertificate({
      caKey: tlsFiles.caKey,
      caCert: tlsFiles.caCert,
      keyOut: tlsFiles.serverKey,
      certOut: tlsFiles.serverCert,
      hosts: ['localhost', '127.0.0.1', '::1'],
    });
  }
  const ca = readFileSync(tlsFiles.caCert, 'utf8');
  for (const host of tlsHosts) {
    const dir = join(stackPaths.certsDir, host);
    const file = join(dir, 'ca.crt');
    mkdirSync(dir, { recursive: true });
    if (!existsSync(file) || readFileSync(file, 'utf8') !== ca) copyFileSync(tlsFiles.caCert, file);
  }
}
