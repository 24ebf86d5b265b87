// Key material of the dev stack's Sigstore services, made once with the openssl CLI and kept under
// .stack/sigstore/ (private keys 0600) so that signatures made before a `down`/`up` still verify:
//   fulcio/ca.key, ca.pem           Fulcio's file CA: a self-signed root that issues the signing certificates;
//                                   the key is encrypted PKCS#8 (Fulcio insists on a password), ca.password
//   rekor/signer.key, signer.pub    Rekor v2 checkpoint signing key (ECDSA P-256)
//   tsa/root.pem, tsa/signer.key, tsa/chain.pem   the timestamp authority's root and its
//                                   timestamping certificate (chain.pem = leaf, root)
// All ECDSA P-256. The CA and the TSA root are valid for ten years.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stackPaths } from './paths';

const dir = join(stackPaths.stack, 'sigstore');

export const sigstoreFiles = {
  dir,
  fulcioDir: join(dir, 'fulcio'),
  fulcioKey: join(dir, 'fulcio', 'ca.key'),
  fulcioKeyPassword: join(dir, 'fulcio', 'ca.password'),
  fulcioCert: join(dir, 'fulcio', 'ca.pem'),
  fulcioConfig: join(dir, 'fulcio', 'config.yaml'),
  rekorKey: join(dir, 'rekor', 'signer.key'),
  rekorPublicKey: join(dir, 'rekor', 'signer.pub'),
  rekorStorage: join(dir, 'rekor', 'log'),
  tsaRootKey: join(dir, 'tsa', 'root.key'),
  tsaRoot: join(dir, 'tsa', 'root.pem'),
  tsaKey: join(dir, 'tsa', 'signer.key'),
  tsaCert: join(dir, 'tsa', 'signer.pem'),
  tsaChain: join(dir, 'tsa', 'chain.pem'),
  oidcKey: join(dir, 'oidc', 'issuer.key'),
  identityToken: join(dir, 'identity-token'),
  trustedRoot: join(dir, 'trusted_root.json'),
  signingConfig: join(dir, 'signing_config.json'),
} as const;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed while making the Sigstore keys: ${stderr || (err as Error).message}`);
  }
}

function newKey(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // SEC1 "EC PRIVATE KEY": read by Fulcio, Rekor and the TSA alike.
  openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', path], dirname(path));
  chmodSync(path, 0o600);
}

function selfSignedCa(key: string, cert: string, commonName: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-sha256',
      '-days',
      '3650',
      '-out',
      cert,
      '-subj',
      `/O=promoter-dev/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dirname(cert),
  );
}

function ensureFulcioCa(): void {
  const f = sigstoreFiles;
  if (existsSync(f.fulcioKey) && existsSync(f.fulcioCert) && existsSync(f.fulcioKeyPassword)) return;
  newKey(f.fulcioKey);
  selfSignedCa(f.fulcioKey, f.fulcioCert, 'promoter-dev Fulcio root');
  const password = randomBytes(24).toString('base64url');
  writeFileSync(f.fulcioKeyPassword, password, { mode: 0o600 });
  const encrypted = createPrivateKey(readFileSync(f.fulcioKey)).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password });
  writeFileSync(f.fulcioKey, encrypted, { mode: 0o600 });
}

function ensureRekorKey(): void {
  if (existsSync(sigstoreFiles.rekorKey) && existsSync(sigstoreFiles.rekorPublicKey)) return;
  newKey(sigstoreFiles.rekorKey);
  const publicKey = createPublicKey(createPrivateKey(readFileSync(sigstoreFiles.rekorKey)));
  writeFileSync(sigstoreFiles.rekorPublicKey, publicKey.export({ type: 'spki', format: 'pem' }));
}

function ensureTsaChain(): void {
  const f = sigstoreFiles;
  if ([f.tsaRoot, f.tsaKey, f.tsaCert, f.tsaChain].every((p) => existsSync(p))) return;
  const tsaDir = dirname(f.tsaKey);
  newKey(f.tsaRootKey);
  selfSignedCa(f.tsaRootKey, f.tsaRoot, 'promoter-dev timestamp root');
  newKey(f.tsaKey);
  const csr = join(tsaDir, 'signer.csr');
  const ext = join(tsaDir, 'signer.ext');
  // RFC 3161 §2.3: the timestamping certificate has exactly one, critical, extended key usage.
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=critical,timeStamping',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      '',
    ].join('\n'),
  );
  openssl(['req', '-new', '-key', f.tsaKey, '-subj', '/O=promoter-dev/CN=promoter-dev timestamp authority', '-out', csr], tsaDir);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', f.tsaRoot, '-CAkey', f.tsaRootKey, '-CAcreateserial', '-sha256', '-days', '3650', '-extfile', ext, '-out', f.tsaCert],
    tsaDir,
  );
  writeFileSync(f.tsaChain, readFileSync(f.tsaCert, 'utf8') + readFileSync(f.tsaRoot, 'utf8'));
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
}

/** Creates whatever key material is missing (idempotent; existing keys are never replaced). */
export function ensureSigstorePki(): void {
  mkdirSync(sigstoreFiles.dir, { recursive: true, mode: 0o700 });
  chmodSync(sigstoreFiles.dir, 0o700);
  ensureFulcioCa();
  ensureRekorKey();
  ensureTsaChain();
}
