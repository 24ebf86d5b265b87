// Keyless configuration from a sigstore SigningConfig v0.2 (signing_config.json, what cosign's
// --signing-config reads): the first service of each kind valid now, with its API version.
import { SigningError } from './errors';
import { keylessConfig, type KeylessConfig, type KeylessConfigInput } from './keyless';

interface Service {
  url?: string;
  majorApiVersion?: number;
  validFor?: { start?: string; end?: string };
}

interface SigningConfigJson {
  mediaType?: string;
  caUrls?: Service[];
  rekorTlogUrls?: Service[];
  tsaUrls?: Service[];
}

function current(services: Service[] | undefined, now: Date, versions: number[]): Service | undefined {
  return (services ?? []).find((s) => {
    if (!s.url || !versions.includes(s.majorApiVersion ?? 1)) return false;
    const start = s.validFor?.start ? Date.parse(s.validFor.start) : -Infinity;
    const end = s.validFor?.end ? Date.parse(s.validFor.end) : Infinity;
    return start <= now.getTime() && now.getTime() < end;
  });
}

export function keylessConfigFromSigningConfig(
  signingConfig: unknown,
  options: Pick<KeylessConfigInput, 'oidcTokenSource' | 'audience' | 'timeoutMs' | 'retries'>,
  now: Date = new Date(),
): KeylessConfig {
  const sc = signingConfig as SigningConfigJson;
  if (sc?.mediaType !== 'application/vnd.dev.sigstore.signingconfig.v0.2+json') {
    throw new SigningError('CONFIG_INVALID', `signing config: unsupported mediaType ${String(sc?.mediaType)} (want v0.2)`);
  }
  const ca = current(sc.caUrls, now, [1]);
  if (!ca) throw new SigningError('CONFIG_INVALID', 'signing config: no Fulcio (caUrls) valid now');
  const rekor = current(sc.rekorTlogUrls, now, [2, 1]);
  const tsa = current(sc.tsaUrls, now, [1]);
  return keylessConfig({
    ...options,
    fulcioURL: ca.url!,
    ...(rekor ? { rekorURL: rekor.url!, rekorApiVersion: rekor.majorApiVersion === 1 ? 1 : 2 } : {}),
    ...(tsa ? { tsaURL: tsa.url! } : {}),
  });
}
