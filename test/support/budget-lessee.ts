// A stand-in worker process for the budget-share tests: it leases its registry budget share
// exactly as a worker does (worker/budget-share.ts, over a real connection) and, while told it is
// busy, sends requests as fast as its share of the budget lets it, through the real transport.
// Control on stdin: `busy` or `idle` lines. On stdout: one JSON line per share it was given.
// Settings come from the environment: TEMPORAL_ADDRESS, LESSEE_NAMESPACE, LESSEE_TASK_QUEUE,
// LESSEE_ID, LESSEE_TARGET (host:port of the server to send to), LESSEE_RPS, LESSEE_BURST.
import { createInterface } from 'node:readline';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { Transport } from '../../lib/oci/transport';
import { shareRegistryBudget } from '../../worker/budget-share';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const worker = env('LESSEE_ID');
const target = env('LESSEE_TARGET');
const transport = new Transport({
  allowedRegistries: ['127.0.0.1:*'],
  userAgent: `lessee/${worker}`,
  limits: { default: { requestsPerSecond: Number(env('LESSEE_RPS')), burst: Number(env('LESSEE_BURST')), concurrency: 4 } },
});
let busy = false;
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
shareRegistryBudget(
  { connection, namespace: env('LESSEE_NAMESPACE'), taskQueue: env('LESSEE_TASK_QUEUE'), worker, busy: () => busy },
  {
    setBudgetShare: (share) => {
      transport.setBudgetShare(share);
      process.stdout.write(`${JSON.stringify({ worker, share, at: Date.now() })}\n`);
    },
  },
  pino({ level: 'warn' }, process.stderr),
);

const send = async (): Promise<void> => {
  for (;;) {
    if (!busy) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    await transport.request({ host: target, method: 'GET', path: '/v2/', scopes: [], operation: 'ping' }).catch(() => undefined);
  }
};
for (let i = 0; i < 4; i++) void send();
for await (const line of createInterface({ input: process.stdin })) busy = line.trim() === 'busy';
