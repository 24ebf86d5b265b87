/**
 * `promoter replay ID`: fetch the run's history and replay it against the workflow code of this
 * build (the prebuilt bundle; the sources in development). Exit 0 when deterministic: the audit
 * proof that today's code explains that run.
 */
import { Worker } from '@temporalio/worker';
import { replayOptions } from '../../worker/workflow-source';
import { connectClient, quietSdkLogs } from '../connect';
import type { Output } from '../output';

export async function replayCommand(id: string, opts: { runId?: string }, out: Output): Promise<number> {
  // The replay's verdict is the output: the SDK's own worker chatter stays out of it.
  quietSdkLogs();
  const { client, close } = await connectClient();
  try {
    const history = await client.workflow.getHandle(id, opts.runId).fetchHistory();
    try {
      await Worker.runReplayHistory(replayOptions(), history, id);
    } catch (err) {
      out.print(`replay of ${id} FAILED: ${(err as Error).message}`);
      return 1;
    }
    out.print(`replay of ${id}: deterministic (${history.events?.length ?? 0} events)`);
    return 0;
  } finally {
    await close();
  }
}
