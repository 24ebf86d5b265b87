// A throwaway keyless PKI built with the openssl CLI: a Fulcio-like CA that
// issues a short-lived code-signing certificate carrying an OIDC identity
// (SAN email + Fulcio issuer extension), and an RFC 3161 timestamp authority
// (openssl ts) chained to its own root. Used to test keyless verification
// offline, with the same trusted_root.json cosign reads.
import type { Signer, Witness } from '@sigstore/sign';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export interface KeylessPki {
  dir: string;
  leafPem: string;
  /** Signs like Fulcio's ephemeral key: ECDSA P-256 SHA-256, DER. */
  sign(data: Buffer): Buffer;
  /** An RFC 3161 TimeStampResp (DER), what bundles carry as signedTimestamp, over sha256(data). */
  timestamp(data: Buffer): Buffer;
  trustedRoot: Record<string, unknown>;
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
};

function derBase64(pemFile: string): string {
  return Buffer.from(new X509Certificate(readFileSync(pemFile)).raw).toString('base64');
}

export function makeKeylessPki(identity: { email: string; issuer: string }): KeylessPki {
  const dir = mkdtempSync(join(tmpdir(), 'promoter-pki-'));
  const ec = (name: string) => openssl(dir, ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', `${name}.key`]);
  const selfSigned = (name: string, cn: string) =>
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/O=promoter-test/CN=${cn}`,
      '-days',
      '3',
      '-out',
      `${name}.pem`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const issue = (name: string, ca: string, subject: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  };

  ec('fulcio');
  selfSigned('fulcio', 'fulcio-root');
  ec('leaf');
  issue(
    'leaf',
    'fulcio',
    '/O=promoter-test',
    [
      `subjectAltName=critical,email:${identity.email}`,
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=codeSigning',
      'authorityKeyIdentifier=keyid',
      `${OID_FULCIO_ISSUER_V2}=ASN1:UTF8String:${identity.issuer}`,
    ].join('\n'),
  );
  ec('tsaroot');
  selfSigned('tsaroot', 'tsa-root');
  ec('tsa');
  issue(
    'tsa',
    'tsaroot',
    '/O=promoter-test/CN=tsa',
    'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid',
  );
  writeFileSync(
    join(dir, 'tsa.cnf'),
    [
      '[tsa]',
      'default_tsa = tsa1',
      '[tsa1]',
      'serial = ./tsaserial',
      'signer_digest = sha256',
      'default_policy = 1.3.6.1.4.1.57264.2',
      'digests = sha256',
      'accuracy = secs:1',
      'ordering = no',
      'tsa_name = no',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'tsaserial'), '01\n');

  const leafKey = createPrivateKey(readFileSync(join(dir, 'leaf.key')));
  let n = 0;
  const valid = { start: new Date(Date.now() - 86_400_000).toISOString() };
  return {
    dir,
    leafPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
    sign: (data) => cryptoSign('sha256', data, { key: leafKey, dsaEncoding: 'der' }),
    timestamp: (data) => {
      const id = n++;
      writeFileSync(join(dir, `data${id}`), data);
      openssl(dir, ['ts', '-query', '-data', `data${id}`, '-sha256', '-cert', '-no_nonce', '-out', `q${id}.tsq`]);
      openssl(dir, ['ts', '-reply', '-config', 'tsa.cnf', '-queryfile', `q${id}.tsq`, '-inkey', 'tsa.key', '-signer', 'tsa.pem', '-out', `t${id}.der`]);
      return readFileSync(join(dir, `t${id}.der`));
    },
    trustedRoot: {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      ctlogs: [],
      certificateAuthorities: [
        {
          subject: { organization: 'promoter-test', commonName: 'fulcio-root' },
          uri: 'https://fulcio.promoter.test',
          certChain: { certificates: [{ rawBytes: derBase64(join(dir, 'fulcio.pem')) }] },
          validFor: valid,
        },
      ],
      timestampAuthorities: [
        {
          subject: { organization: 'promoter-test', commonName: 'tsa' },
          uri: 'https://tsa.promoter.test',
          certChain: { certificates: [{ rawBytes: derBase64(join(dir, 'tsa.pem')) }, { rawBytes: derBase64(join(dir, 'tsaroot.pem')) }] },
          validFor: valid,
        },
      ],
    },
  };
}

/** A sigstore-js Signer presenting the leaf certificate, as FulcioSigner would. */
export function certificateSigner(pki: KeylessPki): Signer {
  return { sign: async (data) => ({ signature: pki.sign(data), key: { $case: 'x509Certificate', certificate: pki.leafPem } }) };
}

/** A sigstore-js Witness that timestamps the signature with the openssl TSA, as TSAWitness would. */
export function timestampWitness(pki: KeylessPki): Witness {
  return {
    testify: async (content) => {
      const sig = content.$case === 'dsseEnvelope' ? content.dsseEnvelope.signatures[0]!.sig : content.messageSignature.signature;
      return { rfc3161Timestamps: [{ signedTimestamp: pki.timestamp(sig) }] };
    },
  };
}
