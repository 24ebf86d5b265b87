// Which hosts the worker speaks to is the operator's choice, not a registry's: every request, token
// realm and redirect target is checked here before a connection opens (PROMOTER_ALLOWED_REGISTRIES,
// comma-separated host globs). Loopback, link-local and cloud-metadata addresses are refused unless
// a glob names the host literally: a glob with a wildcard in its host part never reaches them, so
// a hostile registry cannot point the worker (and its credentials) at the instance metadata
// service or at something listening on the worker's own loopback. The same holds for what a name
// resolves to: a host allowed by a wildcard that resolves to such an address is refused at connect.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIPv4, isIPv6, type LookupFunction } from 'node:net';

export const ALLOWED_REGISTRIES_ENV = 'PROMOTER_ALLOWED_REGISTRIES';

/** The error a refused address carries out of a connect (mapped to HOST_NOT_ALLOWED by the transport). */
export const HOST_NOT_ALLOWED_CODE = 'ERR_PROMOTER_HOST_NOT_ALLOWED';

export type SpecialAddress = 'loopback' | 'link-local' | 'cloud-metadata' | 'unspecified';

interface HostGlob {
  text: string;
  host: RegExp;
  /** The host name when the glob has no wildcard in it: such a glob names the host. */
  literal?: string;
  /** undefined: the glob gave no port (the host without one, or 443); '*': any. */
  port?: string;
}

const GLOB_RE = /^(\[[0-9a-f:.*]+\]|[a-z0-9.*-]+)(?::(\*|\d{1,5}))?$/;

function parseGlob(raw: string): HostGlob {
  const text = raw.trim().toLowerCase();
  const m = GLOB_RE.exec(text);
  if (!m) throw new Error(`${ALLOWED_REGISTRIES_ENV}: "${raw.trim()}" is not a host glob (host[:port], "*" as a wildcard, IPv6 in brackets)`);
  const name = m[1]!.replace(/^\[|\]$/g, '');
  const host = new RegExp(
    `^${name
      .split('*')
      .map((s) => s.replace(/[.?+^$()|{}\\[\]-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return { text, host, ...(name.includes('*') ? {} : { literal: name }), ...(m[2] !== undefined ? { port: m[2] } : {}) };
}

/** "host[:port]" -> lower-case host name (brackets off IPv6) and port ('' when none). */
function splitHost(hostPort: string): { name: string; port: string } {
  const h = hostPort.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return { name: h.slice(1, end), port: h.slice(end + 2) };
  }
  const i = h.lastIndexOf(':');
  return i >= 0 && h.indexOf(':') === i ? { name: h.slice(0, i), port: h.slice(i + 1) } : { name: h, port: '' };
}

function ipv4Parts(a: string): number[] | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  const v4 = mapped ? mapped[1]! : a;
  return isIPv4(v4) ? v4.split('.').map(Number) : undefined;
}

/** What kind of address (or well-known name) a host is, when it is one the default refuses. */
export function specialAddress(name: string): SpecialAddress | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === 'localhost' || n.endsWith('.localhost')) return 'loopback';
  if (n === 'metadata.google.internal' || n === 'metadata') return 'cloud-metadata';
  const v4 = ipv4Parts(n);
  if (v4) {
    if (v4[0] === 127) return 'loopback';
    if (v4[0] === 0) return 'unspecified';
    if (v4[0] === 169 && v4[1] === 254) return v4[2] === 169 && v4[3] === 254 ? 'cloud-metadata' : 'link-local';
    if (v4.join('.') === '100.100.100.200') return 'cloud-metadata'; // Alibaba Cloud's metadata service
    return undefined;
  }
  if (!isIPv6(n)) return undefined;
  const full = expandIPv6(n);
  if (full === '0000:0000:0000:0000:0000:0000:0000:0001') return 'loopback';
  if (full === '0000:0000:0000:0000:0000:0000:0000:0000') return 'unspecified';
  if (full === 'fd00:0ec2:0000:0000:0000:0000:0000:0254') return 'cloud-metadata'; // AWS IMDS over IPv6
  if (/^fe[89ab]/.test(full)) return 'link-local';
  return undefined;
}

function expandIPv6(a: string): string {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

export type Resolver = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export class AllowedHosts {
  private readonly globs: HostGlob[];
  /** Where the list came from, for messages. */
  readonly source: string;

  /** `globs` undefined or empty: any host, but none of the special addresses. */
  constructor(
    globs?: readonly string[],
    private readonly resolver: Resolver = dnsLookup,
  ) {
    const given = (globs ?? []).map((g) => g.trim()).filter(Boolean);
    this.globs = given.length > 0 ? given.map(parseGlob) : [parseGlob('*:*')];
    this.source =
      given.length > 0
        ? `${ALLOWED_REGISTRIES_ENV}=${given.join(',')}`
        : `the default of ${ALLOWED_REGISTRIES_ENV} (any host but loopback, link-local and cloud-metadata addresses)`;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): AllowedHosts {
    return new AllowedHosts(parseAllowedRegistries(env[ALLOWED_REGISTRIES_ENV]));
  }

  /** Does some glob name this host name literally (no wildcard)? */
  names(name: string): boolean {
    const n = splitHost(name).name;
    return this.globs.some((g) => g.literal === n);
  }

  /** Why `hostPort` ("host[:port]") may not be spoken to, or undefined when it may. */
  refusal(hostPort: string): string | undefined {
    const { name, port } = splitHost(hostPort);
    const portMatches = (g: HostGlob) => g.port === '*' || (g.port === undefined ? port === '' || port === '443' : g.port === port);
    const matching = this.globs.filter((g) => g.host.test(name) && portMatches(g));
    if (matching.length === 0) return `${hostPort} is not allowed by ${this.source}`;
    const special = specialAddress(name);
    if (special && !matching.some((g) => g.literal === name)) {
      return `${hostPort} is a ${special} address, allowed only when ${ALLOWED_REGISTRIES_ENV} names it (e.g. ${name.includes(':') ? `[${name}]` : name}:*)`;
    }
    return undefined;
  }

  allows(hostPort: string): boolean {
    return this.refusal(hostPort) === undefined;
  }

  /** Why a connection to `hostname` that resolved to `address` is refused, or undefined. */
  addressRefusal(hostname: string, address: string): string | undefined {
    const special = specialAddress(address);
    if (!special || this.names(hostname)) return undefined;
    return `${hostname} resolves to ${address}, a ${special} address: allowed only when ${ALLOWED_REGISTRIES_ENV} names ${hostname}`;
  }

  /**
   * A `lookup` for net/tls connect options: resolves as usual, then refuses a special address the
   * host name was not named for. Connections to IP literals skip lookup; refusal() covers them.
   */
  readonly lookup: LookupFunction = ((hostname: string, options: object, callback: (...args: unknown[]) => void): void => {
    const wantsAll = (options as { all?: boolean }).all === true;
    this.resolver(hostname, { ...(options as LookupAllOptions), all: true }, (err, addresses) => {
      if (err) return callback(err);
      const refused = addresses.map((a) => this.addressRefusal(hostname, a.address)).find((r) => r !== undefined);
      if (refused) return callback(Object.assign(new Error(refused), { code: HOST_NOT_ALLOWED_CODE }));
      if (wantsAll) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }));
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/** The globs of a PROMOTER_ALLOWED_REGISTRIES value (unset or blank: none, i.e. the default). */
export function parseAllowedRegistries(value: string | undefined): string[] {
  const globs = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  globs.forEach(parseGlob); // a bad glob fails here, at start-up, not at the first request
  return globs;
}
