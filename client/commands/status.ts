/** `promoter status ID`: progress of a running run (the `progress` query), or the outcome of a finished one. */
import { loadConfig } from '../../lib/config';
import { progressQuery } from '../../workflows/promotion';
import { connectClient } from '../connect';
import { formatProgress, formatReport } from '../format';
import type { Output } from '../output';
import { exitCodeOf, noSuchRun, storedReport } from '../report-source';

export async function statusCommand(id: string, opts: { json?: boolean }, out: Output): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient();
  try {
    const handle = client.workflow.getHandle(id);
    const desc = await handle.describe().catch((err: Error) => {
      throw noSuchRun(id, err);
    });
    if (desc.status.name === 'RUNNING') {
      const progress = await handle.query(progressQuery);
      if (opts.json) out.json(progress);
      else out.print(formatProgress(progress));
      return 0;
    }
    const report = await storedReport(client, config, id);
    if (report === 'running') return 0;
    if (opts.json) out.json({ workflowId: id, status: report.status, phases: report.phases, edges: report.edges });
    else out.print(formatReport(report, 5));
    return exitCodeOf(report);
  } finally {
    await close();
  }
}
