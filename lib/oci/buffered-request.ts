// Registry calls without a streamed request body, over undici's request API: about half the
// client CPU of fetch per call (measured on the dev stack: ~0.33 ms against ~0.6 ms per GET),
// and registry calls are the hot path of every phase. Redirects are not followed here: the
// transport decides each hop (lib/oci/redirects.ts).
import type { Dispatcher } from 'undici';
import { collectUpTo, toHeaders, type HttpResponse } from './http-response';

export async function bufferedRequest(
  dispatcher: Dispatcher,
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array; signal: AbortSignal },
): Promise<HttpResponse> {
  const res = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: init.method,
    headers: init.headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
    signal: init.signal,
  });
  let web: ReadableStream<Uint8Array> | undefined;
  return {
    status: res.statusCode,
    headers: toHeaders(res.headers),
    url: url.toString(),
    // Converted only when a caller streams the body; buffered callers read it directly. Pulled
    // through the async iterator (backpressure kept; a cancel destroys the socket stream) rather
    // than Readable.toWeb, whose adapter throws "Controller is already closed" from a data event
    // when the reader cancels while data is still buffered.
    get body() {
      web ??= ReadableStream.from(res.body as AsyncIterable<Uint8Array>);
      return web;
    },
    readUpTo: (limit) => collectUpTo(res.body as AsyncIterable<Uint8Array>, limit, () => res.body.destroy()),
    // A short body is read to keep the connection; a long or endless one closes it.
    discard: () => void res.body.dump({ limit: 64 * 1024 }).catch(() => undefined),
  };
}
