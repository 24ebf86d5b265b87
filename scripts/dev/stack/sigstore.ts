// Keyless signing for the dev stack: Fulcio (CA), Rekor v2 (transparency log on local disk) and an
// RFC 3161 timestamp authority, each a plain process inside the stack's own network namespace
// (netns.ts says why), plus the OIDC issuer that stands in for the promoter's workload identity,
// served by the token server on the host end of the namespace's link.
//
//   host (127.0.0.1 and HOST_END)                  namespace (NS_END only, plus its own lo)
//   token server ── OIDC issuer  HOST_END:5006  <── Fulcio    NS_END:5555  (gRPC lo:5554, metrics :2113)
//   promoter, cosign, tests ──────────────────────> Rekor v2  NS_END:3000  (gRPC lo:3001, metrics NS_END:2114)
//                                               └─> TSA       NS_END:3004  (metrics :2112, fixed)
//
// The identity token is a file (.stack/sigstore/identity-token) that the issuer rewrites every two
// minutes with a ten-minute token for PROMOTER_KEYLESS_IDENTITY, like a projected service-account
// token. State (CA, log tiles, TSA and issuer keys) lives under .stack/sigstore and survives
// down/up, so earlier signatures keep verifying. Needs root for the namespace; without root, or
// without the binaries (scripts/setup/sigstore.sh), `up` skips these services with one line.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from './components';
import { ensureSigstoreNetwork, inNamespace, isRoot, sigstoreNetwork } from './netns';
import { stackPaths } from './paths';
import { httpStatus } from './probes';
import { ensureSigstorePki, sigstoreFiles } from './sigstore-pki';
import { writeFulcioConfig, writeSigstoreTrust, type SigstoreUrls } from './sigstore-trust';

export { sigstoreFiles } from './sigstore-pki';

/** The identity the stack's token carries: an email, as a Google service account's is. */
export const KEYLESS_IDENTITY = 'promoter@promoter-dev.iam.example.com';

const sigstorePorts = {
  oidcIssuer: 5006,
  fulcio: 5555,
  fulcioGrpc: 5554,
  fulcioMetrics: 2113,
  rekor: 3000,
  rekorGrpc: 3001,
  rekorMetrics: 2114,
  tsa: 3004,
} as const;

const ns = sigstoreNetwork.namespaceAddress;

export const sigstoreUrls: SigstoreUrls = {
  fulcio: `http://${ns}:${sigstorePorts.fulcio}`,
  rekor: `http://${ns}:${sigstorePorts.rekor}`,
  tsa: `http://${ns}:${sigstorePorts.tsa}/api/v1/timestamp`,
  oidcIssuer: `http://${sigstoreNetwork.hostAddress}:${sigstorePorts.oidcIssuer}`,
};

const binaries = {
  fulcio: join(stackPaths.toolsBin, 'fulcio'),
  rekor: join(stackPaths.toolsBin, 'rekor-server'),
  tsa: join(stackPaths.toolsBin, 'timestamp-server'),
};

/** Why the Sigstore services cannot run here, or undefined when they can. */
function sigstoreUnavailable(): string | undefined {
  if (!isRoot()) return 'not root: no network namespace can be made';
  const missing = Object.values(binaries).filter((b) => !existsSync(b));
  if (missing.length > 0) return `${missing.map((m) => m.slice(stackPaths.toolsBin.length + 1)).join(', ')} not built (bash scripts/setup/sigstore.sh)`;
  return undefined;
}

/** The line `up` prints when it skips the Sigstore services. */
export function sigstoreNotes(): string[] {
  const why = sigstoreUnavailable();
  return why ? [`  sigstore services skipped (${why}); key-based signing still works, keyless does not`] : [];
}

/** Everything the services read before they start: namespace, keys, configs, trust files (idempotent). */
function prepare(): void {
  ensureSigstoreNetwork();
  ensureSigstorePki();
  writeFulcioConfig(sigstoreUrls.oidcIssuer);
  writeSigstoreTrust(sigstoreUrls);
}

const fulcio: Component = {
  name: 'fulcio',
  ports: [], // inside the namespace: no stranger on the host can hold them
  startTimeoutMs: 30_000,
  spec() {
    prepare();
    return {
      name: 'fulcio',
      launcher: inNamespace(),
      command: binaries.fulcio,
      args: [
        'serve',
        '--ca',
        'fileca',
        '--fileca-cert',
        sigstoreFiles.fulcioCert,
        '--fileca-key',
        sigstoreFiles.fulcioKey,
        '--fileca-watch=false',
        '--config-path',
        sigstoreFiles.fulcioConfig,
        // No CT log runs here: certificates carry no SCT (verifiers need --insecure-ignore-sct).
        '--ct-log-url',
        '',
        '--host',
        ns,
        '--port',
        String(sigstorePorts.fulcio),
        '--grpc-host',
        '127.0.0.1',
        '--grpc-port',
        String(sigstorePorts.fulcioGrpc),
        '--metrics-port',
        String(sigstorePorts.fulcioMetrics),
        '--log_type',
        'prod',
      ],
      // The CA key's password goes through the environment, not the command line (which `ps` shows).
      // Fulcio reads its flags from FULCIO_SERVE_<FLAG> variables, the flag name kept as is.
      env: { 'FULCIO_SERVE_FILECA-KEY-PASSWD': readFileSync(sigstoreFiles.fulcioKeyPassword, 'utf8') },
    };
  },
  ready: async () => (await httpStatus(`${sigstoreUrls.fulcio}/api/v2/trustBundle`)) === 200,
};

const rekor: Component = {
  name: 'rekor',
  ports: [],
  startTimeoutMs: 30_000,
  spec() {
    prepare();
    mkdirSync(sigstoreFiles.rekorStorage, { recursive: true });
    return {
      name: 'rekor',
      launcher: inNamespace(),
      command: binaries.rekor,
      args: [
        'serve',
        // The checkpoint origin: cosign (sigstore-go) expects the host name of the log's URL.
        '--hostname',
        ns,
        '--storage-dir',
        sigstoreFiles.rekorStorage,
        '--signer-filepath',
        sigstoreFiles.rekorKey,
        '--http-address',
        ns,
        '--http-port',
        String(sigstorePorts.rekor),
        '--grpc-address',
        '127.0.0.1',
        '--grpc-port',
        String(sigstorePorts.rekorGrpc),
        '--http-metrics-port',
        String(sigstorePorts.rekorMetrics),
        // An entry's response waits for the next checkpoint: keep signing fast.
        '--checkpoint-interval',
        '500ms',
        '--batch-max-age',
        '100ms',
      ],
    };
  },
  ready: async () => (await httpStatus(`${sigstoreUrls.rekor}/healthz`)) === 200,
};

const tsa: Component = {
  name: 'timestamp-authority',
  ports: [],
  startTimeoutMs: 30_000,
  spec() {
    prepare();
    return {
      name: 'timestamp-authority',
      launcher: inNamespace(),
      command: binaries.tsa,
      args: [
        'serve',
        '--host',
        ns,
        '--port',
        String(sigstorePorts.tsa),
        '--scheme',
        'http',
        '--timestamp-signer',
        'file',
        '--file-signer-key-path',
        sigstoreFiles.tsaKey,
        '--certificate-chain-path',
        sigstoreFiles.tsaChain,
        // Otherwise it polls outside NTP servers, which the namespace cannot reach.
        '--disable-ntp-monitoring',
        '--log-type',
        'prod',
      ],
    };
  },
  ready: async () => (await httpStatus(`http://${ns}:${sigstorePorts.tsa}/ping`)) === 200,
};

/** Fulcio, Rekor and the TSA when they can run here, else none. */
export function sigstoreComponents(): Component[] {
  return sigstoreUnavailable() ? [] : [fulcio, rekor, tsa];
}

/** The token server, also serving the OIDC issuer and keeping the identity token file fresh (when the services run). */
export function withOidcIssuer(tokenServer: Component): Component {
  if (sigstoreUnavailable()) return tokenServer;
  return {
    ...tokenServer,
    spec() {
      prepare(); // the issuer listens on the host end of the namespace's link
      const spec = tokenServer.spec();
      return {
        ...spec,
        env: {
          ...spec.env,
          PROMOTER_OIDC_ISSUER: sigstoreUrls.oidcIssuer,
          PROMOTER_OIDC_KEY: sigstoreFiles.oidcKey,
          PROMOTER_OIDC_EMAIL: KEYLESS_IDENTITY,
          PROMOTER_OIDC_TOKEN_FILE: sigstoreFiles.identityToken,
        },
      };
    },
    // A token server started without the issuer (before it existed, or by a non-root `up`) keeps
    // running: say how to fix that instead of letting Fulcio fail on every token.
    afterReadyAlways: true,
    async afterReady() {
      await tokenServer.afterReady?.();
      const discovery = `${sigstoreUrls.oidcIssuer}/.well-known/openid-configuration`;
      for (let i = 0; i < 50; i++) {
        if ((await httpStatus(discovery, 1_000)) === 200) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`token-server runs without the OIDC issuer (${discovery} does not answer): run "npm run stack -- down", then up`);
    },
  };
}

/** What a client needs for keyless signing and verification (empty when the services do not run here). */
export function sigstoreEnv(): Record<string, string> {
  if (sigstoreUnavailable()) return {};
  return {
    PROMOTER_FULCIO_URL: sigstoreUrls.fulcio,
    PROMOTER_REKOR_URL: sigstoreUrls.rekor,
    PROMOTER_TSA_URL: sigstoreUrls.tsa,
    PROMOTER_TRUSTED_ROOT: sigstoreFiles.trustedRoot,
    PROMOTER_SIGNING_CONFIG: sigstoreFiles.signingConfig,
    PROMOTER_IDENTITY_TOKEN_FILE: sigstoreFiles.identityToken,
    PROMOTER_KEYLESS_IDENTITY: KEYLESS_IDENTITY,
    PROMOTER_KEYLESS_ISSUER: sigstoreUrls.oidcIssuer,
  };
}
