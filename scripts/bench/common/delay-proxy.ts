// A proxy that holds every request for a fixed time before passing it on: a registry that
// answers in `rttMs` plus its own time, like a real one across a network (20-100 ms), instead
// of loopback's fraction of a millisecond. It only delays; the registry's access log counts.
// The Host header passes through, so upload Locations point back at the proxy.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export class DelayProxy {
  private constructor(
    private readonly server: http.Server,
    readonly host: string,
  ) {}

  static async start(target: string, rttMs: number): Promise<DelayProxy> {
    const [targetHost, targetPort] = target.split(':') as [string, string];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const server = http.createServer((req, res) => {
      // The body waits in the socket buffer meanwhile (paused), not in memory here.
      req.pause();
      setTimeout(() => {
        const upstream = http.request({ host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', (err) => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`delay proxy: ${err.message}`);
        });
        req.pipe(upstream);
        req.resume();
      }, rttMs);
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new DelayProxy(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
