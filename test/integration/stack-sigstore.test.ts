// The dev stack's keyless signing services: reachable where clients look for them, their catch-all
// listeners (Prometheus) kept off the host's loopback by the network namespace, the OIDC issuer's
// discovery and keys consistent with the token it hands out, and trust files that name them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { portOpen } from '../../scripts/dev/stack/probes';
import { keylessStack } from '../support/keyless';

const keyless = keylessStack();

describe.skipIf(!keyless)('dev stack: Sigstore services', () => {
  const k = keyless!;

  it('serves Fulcio, Rekor v2 and the TSA at the namespace address', async () => {
    const bundle = (await (await fetch(`${k.fulcioURL}/api/v2/trustBundle`)).json()) as { chains: { certificates: string[] }[] };
    expect(bundle.chains[0]!.certificates[0]).toMatch(/BEGIN CERTIFICATE/);
    expect((await fetch(`${k.rekorURL}/healthz`)).status).toBe(200);
    const chain = await fetch(`${k.tsaURL}/certchain`);
    expect(chain.status).toBe(200);
    expect(await chain.text()).toMatch(/BEGIN CERTIFICATE/);
  });

  it("keeps the services' metrics listeners (TSA :2112, fixed; Fulcio, Rekor) off the host loopback", async () => {
    for (const port of [2112, 2113, 2114, 5554, 3001]) {
      expect(await portOpen('127.0.0.1', port, 500), `127.0.0.1:${port}`).toBe(false);
    }
    // ... where they are, inside the namespace, the TSA's answers on the namespace's end of the link.
    const tsaHost = new URL(k.tsaURL).hostname;
    expect(await portOpen(tsaHost, 2112, 1_000)).toBe(true);
  });

  it('the OIDC issuer publishes discovery and the key that signed the current token', async () => {
    const discovery = (await (await fetch(`${k.issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
      id_token_signing_alg_values_supported: string[];
    };
    expect(discovery.issuer).toBe(k.issuer);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256']);
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: { kid: string; kty: string }[] };
    const header = JSON.parse(Buffer.from(readFileSync(k.tokenFile, 'utf8').split('.')[0]!, 'base64url').toString()) as { kid: string; alg: string };
    expect(header.alg).toBe('RS256');
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
    expect((await fetch(`${k.issuer}/token`)).status).toBe(404); // no token endpoint: the file is the only way
  });

  it('writes a trusted root and a signing config naming these services', () => {
    const root = JSON.parse(readFileSync(k.trustedRootPath, 'utf8'));
    expect(root.certificateAuthorities[0].uri).toBe(k.fulcioURL);
    expect(root.tlogs[0].baseUrl).toBe(k.rekorURL);
    expect(root.timestampAuthorities[0].uri).toBe(k.tsaURL);
    expect(root.ctlogs).toEqual([]);
    const config = JSON.parse(readFileSync(k.signingConfigPath, 'utf8'));
    expect(config.caUrls[0].url).toBe(k.fulcioURL);
    expect(config.rekorTlogUrls[0]).toMatchObject({ url: k.rekorURL, majorApiVersion: 2 });
    expect(config.tsaUrls[0].url).toBe(k.tsaURL);
    expect(config.oidcUrls[0].url).toBe(k.issuer);
  });
});
