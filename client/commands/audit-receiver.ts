/**
 * `promoter audit-receiver`: the endpoint distribution's notifications post to. Every tag push
 * becomes a signal to the task queue's AuditEventsWorkflow (signal-with-start: the first push
 * starts it), which judges it within seconds. The registry must send
 * `Authorization: Bearer <secret>` (its endpoint `headers`; the secret from PROMOTER_AUDIT_WEBHOOK_SECRET
 * or the file PROMOTER_AUDIT_WEBHOOK_SECRET_FILE names); anything else
 * is refused with 401. The secret is compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadConfig } from '../../lib/config';
import type { PushEvent } from '../../lib/run/audit';
import { pushesOf } from '../../lib/run/notifications';
import { AUDIT_EVENTS_WORKFLOW_ID, auditEventsWorkflow, pushedSignal } from '../../workflows/audit';
import { connectClient, UsageError } from '../connect';
import type { Output } from '../output';

/** A registry batches a few events per envelope; anything this large is not one. */
const MAX_BODY = 1 << 20;
const DEFAULT_RECEIVER_ADDRESS = '127.0.0.1:5010';

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The secret itself, or the file holding it (a mounted Kubernetes Secret, the dev stack's). */
function webhookSecret(env: NodeJS.ProcessEnv): string | undefined {
  const file = env.PROMOTER_AUDIT_WEBHOOK_SECRET_FILE;
  const secret = env.PROMOTER_AUDIT_WEBHOOK_SECRET ?? (file ? readFileSync(file, 'utf8') : undefined);
  return secret?.trim() || undefined;
}

export function authorized(header: string | undefined, secret: string): boolean {
  // Hashing first makes the comparison constant-time whatever the lengths.
  return typeof header === 'string' && timingSafeEqual(sha(header), sha(`Bearer ${secret}`));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function auditReceiverCommand(opts: { listen?: string }, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const secret = webhookSecret(env);
  if (!secret)
    throw new UsageError(
      'neither PROMOTER_AUDIT_WEBHOOK_SECRET nor PROMOTER_AUDIT_WEBHOOK_SECRET_FILE is set: the receiver refuses to run without the secret the registry sends',
    );
  const listen = opts.listen ?? env.PROMOTER_AUDIT_RECEIVER_ADDRESS ?? DEFAULT_RECEIVER_ADDRESS;
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--listen "${listen}": expected host:port`);
  const config = loadConfig();
  const { client, close } = await connectClient();
  const taskQueue = config.temporal.taskQueue;
  // One events workflow per task queue, so two promoter installations on one namespace stay apart.
  const workflowId = `${AUDIT_EVENTS_WORKFLOW_ID}-${taskQueue}`;

  const signal = (e: PushEvent) =>
    client.workflow.signalWithStart(auditEventsWorkflow, {
      workflowId,
      taskQueue,
      args: [{}],
      signal: pushedSignal,
      signalArgs: [e],
      staticSummary: 'audit of pushes (registry notifications)',
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'GET' && url.pathname === '/healthz') return void res.writeHead(200).end('ok\n');
    if (req.method !== 'POST' || url.pathname !== '/events') return void res.writeHead(404).end();
    if (!authorized(req.headers.authorization, secret)) return void res.writeHead(401).end();
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8'));
    } catch (err) {
      return void res.writeHead((err as { status?: number }).status ?? 400).end();
    }
    let pushes: PushEvent[];
    try {
      pushes = pushesOf(body, url.searchParams.get('registry') ?? undefined).pushes;
    } catch {
      return void res.writeHead(400).end();
    }
    // Answered once every push is signalled: on an error the registry retries the envelope.
    for (const e of pushes) await signal(e);
    res.writeHead(200).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      out.info(`audit-receiver: could not pass a push on: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(503).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, listen.slice(0, colon), resolve);
  });
  out.info(`audit-receiver listening on http://${listen}/events, signalling ${workflowId} on task queue ${taskQueue}`);
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await close();
  return 0;
}
