// Connection pools, one set per host (as the URL names it, "host:port"), each with that host's own
// TLS trust from certs.d: a client certificate is configured on its host's pools only, so it can
// never go to another host, whatever a redirect says. Every pool resolves names through the
// allowed-hosts guard. And the scheme choice: HTTPS, always, except for a host that may speak
// plain HTTP (loopback, or configured insecure) and does not speak TLS at all.
import http from 'node:http';
import https from 'node:https';
import { LRUCache } from 'lru-cache';
import { Agent } from 'undici';
import type { AllowedHosts } from './allowed-hosts';
import { OCI_DEFAULTS } from './defaults';
import { apiHost } from './reference';
import { loadHostTls, probeTls, type HostTls } from './tls';

export interface HostPools {
  tls: HostTls;
  /** undici, for requests without a streamed body. */
  dispatcher: Agent;
  /** node:http(s), for streamed request bodies (backpressure; see stream-request.ts). */
  httpsAgent: https.Agent;
  httpAgent: http.Agent;
}

export interface ConnectionsOptions {
  certsDirs: readonly string[];
  hosts: AllowedHosts;
  /** May this host be spoken to over plain HTTP when it does not speak TLS? */
  allowHttp: (host: string) => boolean;
  probeTimeoutMs: number;
  maxHosts?: number;
}

/** Sockets of an evicted host's node agents get this long to finish what they carry. */
const EVICTED_GRACE_MS = 60_000;

export class Connections {
  private readonly pools: LRUCache<string, HostPools>;
  /** Per host that may speak plain HTTP: what its first TLS handshake found (a pending probe while unknown). */
  private readonly schemes: LRUCache<string, Promise<'https' | 'http'>>;

  constructor(private readonly opts: ConnectionsOptions) {
    const max = opts.maxHosts ?? OCI_DEFAULTS.maxPooledHosts;
    this.pools = new LRUCache({ max, dispose: (p, _key, reason) => reason === 'evict' && retire(p) });
    this.schemes = new LRUCache({ max });
  }

  /** The pools of one host, created on first use. */
  for(host: string): HostPools {
    const key = host.toLowerCase();
    let p = this.pools.get(key);
    if (!p) {
      const tls = loadHostTls(key, this.opts.certsDirs);
      const connect = { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) };
      const lookup = this.opts.hosts.lookup;
      p = {
        tls,
        dispatcher: new Agent({ connect: { ...connect, lookup } }),
        httpsAgent: new https.Agent({ keepAlive: true, ...connect, lookup }),
        httpAgent: new http.Agent({ keepAlive: true, lookup }),
      };
      this.pools.set(key, p);
    }
    return p;
  }

  /** The TLS settings of a host already spoken to (for error messages). */
  tlsOf(host: string): HostTls | undefined {
    return this.pools.peek(host.toLowerCase())?.tls;
  }

  /**
   * HTTPS, always, except for a host that may speak plain HTTP and whose server does not speak
   * TLS at all, like go-containerregistry does. The first call for such a host opens one TLS
   * connection to find out; the answer is kept. A certificate the client refuses never falls
   * back: the probe throws a TLS OciError.
   */
  async schemeFor(host: string): Promise<'https' | 'http'> {
    const target = apiHost(host).toLowerCase();
    if (!this.opts.allowHttp(target)) return 'https';
    let known = this.schemes.get(target);
    if (!known) {
      const probe = probeTls(target, this.for(target).tls, this.opts.probeTimeoutMs, this.opts.hosts.lookup);
      known = probe.then((found) => (found === 'tls' ? 'https' : 'http'));
      this.schemes.set(target, known);
      // A failed probe (refused connection, timeout) is not an answer: ask again next time.
      known.catch(() => {
        if (this.schemes.peek(target) === known) this.schemes.delete(target);
      });
    }
    return known;
  }

  /** Closes every pooled connection (idle keep-alive sockets otherwise linger until they time out). */
  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.dispatcher.close().catch(() => undefined)));
    for (const p of all) {
      p.httpsAgent.destroy();
      p.httpAgent.destroy();
    }
  }
}

function retire(p: HostPools): void {
  p.dispatcher.close().catch(() => undefined);
  setTimeout(() => {
    p.httpsAgent.destroy();
    p.httpAgent.destroy();
  }, EVICTED_GRACE_MS).unref();
}
