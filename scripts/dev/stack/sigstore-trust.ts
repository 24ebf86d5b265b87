// What clients need to use and to verify against the dev stack's Sigstore services, written next to
// their keys under .stack/sigstore/:
//   trusted_root.json    Fulcio CA, Rekor v2 log key, TSA chain (sigstore TrustedRoot v0.1), read by
//                        cosign (--trusted-root) and by the promoter's verifier (PROMOTER_TRUSTED_ROOT)
//   signing_config.json  service URLs (sigstore SigningConfig v0.2), read by cosign (--signing-config)
// Both are derived from the key material and the URLs alone, so rewriting them is harmless and
// keeps them right when the stack's addresses change. No CT log runs: the trusted root lists none,
// and Fulcio's certificates carry no SCT.
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { sigstoreFiles } from './sigstore-pki';

export interface SigstoreUrls {
  fulcio: string;
  rekor: string;
  /** The RFC 3161 endpoint itself (…/api/v1/timestamp). */
  tsa: string;
  oidcIssuer: string;
}

const OPERATOR = 'promoter-dev';

/** PEM certificates of a file, in order, as DER. */
function certificates(file: string): X509Certificate[] {
  const pem = readFileSync(file, 'utf8');
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
}

const der = (cert: X509Certificate) => ({ rawBytes: cert.raw.toString('base64') });
const since = (cert: X509Certificate) => ({ start: new Date(cert.validFrom).toISOString() });
const subjectOf = (cert: X509Certificate) => {
  const field = (name: string) => /^(\w+)=(.*)$/m.exec(cert.subject.split('\n').find((l) => l.startsWith(`${name}=`)) ?? '')?.[2];
  return { organization: field('O') ?? OPERATOR, commonName: field('CN') ?? '' };
};

function trustedRootJson(urls: SigstoreUrls): Record<string, unknown> {
  const [fulcioRoot] = certificates(sigstoreFiles.fulcioCert);
  const tsaChain = certificates(sigstoreFiles.tsaChain);
  if (!fulcioRoot || tsaChain.length < 2) throw new Error('Sigstore key material incomplete; remove .stack/sigstore and run stack up again');
  const rekorSpki = createPublicKey(readFileSync(sigstoreFiles.rekorPublicKey)).export({ type: 'spki', format: 'der' });
  // Rekor v2's log id for an ECDSA key is sha256 of the SPKI (as for Rekor v1), whatever the origin.
  const rekorLogId = createHash('sha256').update(rekorSpki).digest('base64');
  const tsaLeaf = tsaChain[0]!;
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: urls.rekor,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: rekorSpki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: since(fulcioRoot) },
        logId: { keyId: rekorLogId },
      },
    ],
    certificateAuthorities: [
      {
        subject: subjectOf(fulcioRoot),
        uri: urls.fulcio,
        certChain: { certificates: [der(fulcioRoot)] },
        validFor: since(fulcioRoot),
      },
    ],
    ctlogs: [],
    timestampAuthorities: [
      {
        subject: subjectOf(tsaLeaf),
        uri: urls.tsa,
        certChain: { certificates: tsaChain.map(der) },
        validFor: since(tsaLeaf),
      },
    ],
  };
}

function signingConfigJson(urls: SigstoreUrls): Record<string, unknown> {
  const [fulcioRoot] = certificates(sigstoreFiles.fulcioCert);
  const validFor = since(fulcioRoot!);
  const service = (url: string, majorApiVersion: number) => ({ url, majorApiVersion, validFor, operator: OPERATOR });
  return {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service(urls.fulcio, 1)],
    oidcUrls: [service(urls.oidcIssuer, 1)],
    rekorTlogUrls: [service(urls.rekor, 2)],
    tsaUrls: [service(urls.tsa, 1)],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
}

function writeIfChanged(path: string, value: unknown): void {
  const text = JSON.stringify(value, null, 2) + '\n';
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // first time
  }
  if (current !== text) writeFileSync(path, text, { mode: 0o644 });
}

export function writeSigstoreTrust(urls: SigstoreUrls): void {
  writeIfChanged(sigstoreFiles.trustedRoot, trustedRootJson(urls));
  writeIfChanged(sigstoreFiles.signingConfig, signingConfigJson(urls));
}

/** Fulcio's issuer configuration: one `email` issuer, audience `sigstore`, as Google's is configured upstream. */
export function writeFulcioConfig(oidcIssuer: string): void {
  const text = [
    '# Written by the dev stack (scripts/dev/stack/sigstore-trust.ts).',
    'oidc-issuers:',
    `  ${oidcIssuer}:`,
    `    issuer-url: ${oidcIssuer}`,
    '    client-id: sigstore',
    '    type: email',
    '    description: promoter dev stack workload identity',
    '',
  ].join('\n');
  let current: string | undefined;
  try {
    current = readFileSync(sigstoreFiles.fulcioConfig, 'utf8');
  } catch {
    // first time
  }
  if (current !== text) writeFileSync(sigstoreFiles.fulcioConfig, text);
}
