// What one HTTP exchange hands back, whichever client library carried it, and reading a body
// without trusting its size: at most one byte past a limit is ever held.

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The URL that answered (this hop's, not where a redirect leads). */
  url: string;
  /** The body as a stream, for a caller that hands it on (blobs). */
  body: ReadableStream<Uint8Array> | null;
  /** Reads the body whole when it has at most `limit` bytes; past that it stops and drops the connection. */
  readUpTo(limit: number): Promise<{ bytes: Uint8Array; over: boolean }>;
  /** Drops the body unread. */
  discard(): void;
}

/** Collects chunks until the source ends or passes `limit`; then `stop` drops the rest. */
export async function collectUpTo(chunks: AsyncIterable<Uint8Array>, limit: number, stop: () => void): Promise<{ bytes: Uint8Array; over: boolean }> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of chunks) {
    n += chunk.length;
    if (n > limit) {
      stop();
      return { bytes: new Uint8Array(0), over: true };
    }
    parts.push(chunk);
  }
  const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  // A plain Uint8Array view (callers compare and hash bytes; a Buffer is a subclass with other equality).
  return { bytes: new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength), over: false };
}

export function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  return headers;
}
