/** `promoter report ID`: the report of a finished run, as stored in the audit bucket. */
import { loadConfig } from '../../lib/config';
import { connectClient, UsageError } from '../connect';
import { formatReport } from '../format';
import type { Output } from '../output';
import { exitCodeOf, storedReport } from '../report-source';

export async function reportCommand(id: string, opts: { json?: boolean; runId?: string }, out: Output): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient();
  try {
    const report = await storedReport(client, config, id, opts.runId);
    if (report === 'running') throw new UsageError(`run ${id} is still running; see \`promoter status ${id}\``, 1);
    if (opts.json) out.json(report);
    else out.print(formatReport(report, 1000));
    return exitCodeOf(report);
  } finally {
    await close();
  }
}
