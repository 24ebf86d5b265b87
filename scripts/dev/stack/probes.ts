// Cheap readiness checks: each answers "does this component serve requests right now?".
import { connect as connectHttp2, type IncomingHttpHeaders } from 'node:http2';
import { createConnection, createServer, isIP } from 'node:net';
import { Agent, fetch } from 'undici';

/** One pool per extra CA (the stack has one), so repeated probes reuse their connection. */
const trusting = new Map<string, Agent>();
function agentTrusting(ca: string): Agent {
  let agent = trusting.get(ca);
  if (!agent) trusting.set(ca, (agent = new Agent({ connect: { ca }, keepAliveTimeout: 1_000 })));
  return agent;
}

/** HTTP status of a GET, or undefined when nothing answers in time. `ca` (PEM) is trusted for an https URL. */
export async function httpStatus(url: string, timeoutMs = 2_000, headers: Record<string, string> = {}, ca?: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers, ...(ca ? { dispatcher: agentTrusting(ca) } : {}) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';

/** TLS for a health check: the CA to trust and the client certificate to present (PEM). */
export interface ProbeTls {
  ca: string;
  cert?: string;
  key?: string;
}

/**
 * Standard gRPC health check (grpc.health.v1.Health/Check) of a Temporal service over raw HTTP/2,
 * asking about one service (the frontend's WorkflowService by default). Hand-encoded protobuf keeps
 * this to a few milliseconds without loading the Temporal SDK, which keeps a warm `stack up` fast.
 */
export function temporalServing(host: string, port: number, timeoutMs = 2_000, service = WORKFLOW_SERVICE, tls?: ProbeTls): Promise<boolean> {
  return new Promise((resolve) => {
    const session = tls
      ? connectHttp2(`https://${host}:${port}`, { ...tls, ...(isIP(host) ? {} : { servername: host }) })
      : connectHttp2(`http://${host}:${port}`);
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    session.on('error', () => done(false));
    const name = Buffer.from(service);
    const message = Buffer.concat([Buffer.from([0x0a, name.length]), name]); // field 1 (service), string
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1); // byte 0: not compressed
    message.copy(frame, 5);
    const req = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    req.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    req.on('trailers', (trailers: IncomingHttpHeaders) => {
      grpcStatus = String(trailers['grpc-status']);
    });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // HealthCheckResponse { status = 1 (SERVING) } encodes as 08 01 after the 5-byte frame prefix.
      done(grpcStatus === '0' && body.length >= 7 && body[5] === 0x08 && body[6] === 0x01);
    });
    req.on('error', () => done(false));
    req.end(frame);
  });
}

/** A loopback port nobody listens on right now (the kernel picks it; closed again for the caller to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
