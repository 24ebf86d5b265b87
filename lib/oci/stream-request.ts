// Streamed request bodies over node:http(s). Node's fetch drains a
// ReadableStream request body into memory as fast as it can read it (measured
// on Node 24: a 128 MiB PATCH held 128 MiB live), ignoring socket
// backpressure; node:http waits for 'drain', so memory stays at a few socket
// buffers whatever the blob size.
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { collectUpTo, toHeaders, type HttpResponse } from './http-response';

export async function streamRequest(
  url: URL,
  // The agent is the host's own (lib/oci/connections.ts): its TLS trust, its client certificate.
  init: { method: string; headers: Record<string, string>; body: ReadableStream<Uint8Array>; signal: AbortSignal; agent: http.Agent | https.Agent },
): Promise<HttpResponse> {
  const mod = url.protocol === 'https:' ? https : http;
  const agent = init.agent;
  const req = mod.request(url, { method: init.method, headers: init.headers, signal: init.signal, agent });
  const responded = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  let answered = false;
  responded.then(
    () => (answered = true),
    () => (answered = true),
  );
  const reader = init.body.getReader();
  const pump = (async () => {
    try {
      for (;;) {
        // A registry may answer (401, 4xx) before reading everything: stop sending then.
        if (answered) break;
        const { value, done } = await reader.read();
        if (done) break;
        if (!req.write(value)) await Promise.race([once(req, 'drain'), responded.catch(() => undefined)]);
      }
      req.end();
    } catch (e) {
      req.destroy(e as Error);
    } finally {
      reader.cancel().catch(() => undefined);
    }
  })();
  let incoming: http.IncomingMessage;
  try {
    incoming = await responded;
  } catch (e) {
    await pump;
    throw e;
  }
  const headers = toHeaders(incoming.headers);
  const status = incoming.statusCode ?? 0;
  const noBody = status === 204 || status === 205 || status === 304 || init.method === 'HEAD';
  if (noBody) incoming.resume();
  let web: ReadableStream<Uint8Array> | undefined;
  return {
    status,
    headers,
    url: url.toString(),
    get body() {
      if (noBody) return null;
      web ??= Readable.toWeb(incoming) as ReadableStream<Uint8Array>;
      return web;
    },
    readUpTo: async (limit) => (noBody ? { bytes: new Uint8Array(0), over: false } : collectUpTo(incoming, limit, () => incoming.destroy())),
    discard: () => incoming.destroy(),
  };
}
