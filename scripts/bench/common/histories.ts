// The Temporal side of a run's cost: every workflow of it (the run and its child workflows, found
// through the child-started events), its history length in events, its encoded size, and the
// largest payload any event carries.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto;

interface HistoryStats {
  workflowId: string;
  runId: string;
  events: number;
  bytes: number;
  largestPayloadBytes: number;
  largestPayloadEvent: string;
}

export interface RunHistories {
  workflows: HistoryStats[];
  maxEvents: number;
  maxEventsWorkflow: string;
  largestPayloadBytes: number;
  largestPayloadWhere: string;
  totalBytes: number;
}

/** Largest `data` of any Payload (an object with `data` bytes and `metadata`) inside an event. */
function largestPayload(value: unknown, depth = 0): number {
  if (!value || typeof value !== 'object' || depth > 12) return 0;
  if (value instanceof Uint8Array) return 0;
  const o = value as Record<string, unknown>;
  let best = o.data instanceof Uint8Array && 'metadata' in o ? o.data.length : 0;
  for (const v of Object.values(o)) {
    if (v && typeof v === 'object') best = Math.max(best, largestPayload(v, depth + 1));
  }
  return best;
}

async function statsOf(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<{ stats: HistoryStats; children: { workflowId: string; runId: string }[] }> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  let largest = 0;
  let where = '';
  const children: { workflowId: string; runId: string }[] = [];
  for (const e of events) {
    const size = largestPayload(e);
    if (size > largest) {
      largest = size;
      where = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
    }
    const started = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (started?.workflowId && started.runId) children.push({ workflowId: started.workflowId, runId: started.runId });
  }
  const bytes = temporal.api.history.v1.History.encode(history).finish().length;
  const rid = runId ?? (await handle.describe()).runId;
  return { stats: { workflowId, runId: rid, events: events.length, bytes, largestPayloadBytes: largest, largestPayloadEvent: where }, children };
}

/** The run and all its descendants. */
export async function runHistories(client: Client, workflowId: string, runId?: string): Promise<RunHistories> {
  const out: HistoryStats[] = [];
  const queue = [{ workflowId, runId }];
  while (queue.length > 0) {
    const next = queue.shift()!;
    const { stats, children } = await statsOf(client, next.workflowId, next.runId);
    out.push(stats);
    queue.push(...children);
  }
  const maxEv = out.reduce((a, b) => (b.events > a.events ? b : a));
  const maxPl = out.reduce((a, b) => (b.largestPayloadBytes > a.largestPayloadBytes ? b : a));
  return {
    workflows: out,
    maxEvents: maxEv.events,
    maxEventsWorkflow: maxEv.workflowId,
    largestPayloadBytes: maxPl.largestPayloadBytes,
    largestPayloadWhere: `${maxPl.workflowId} ${maxPl.largestPayloadEvent}`,
    totalBytes: out.reduce((n, s) => n + s.bytes, 0),
  };
}
