/** `promoter audit`: one audit now (the audit schedule runs the same workflow). Exit 1 when anything is flagged. */
import { loadConfig, workflowUrl } from '../../lib/config';
import { describeCounts, type AuditInput, type AuditReport } from '../../lib/run/audit';
import { auditWorkflow } from '../../workflows/audit';
import { connectClient } from '../connect';
import type { ManifestSource } from '../load-manifests';
import type { Output } from '../output';
import { givenBundleKey } from '../store-bundle';

export async function auditCommand(opts: ManifestSource & { verify?: boolean; wait?: boolean; json?: boolean }, out: Output): Promise<number> {
  const config = loadConfig();
  // Default: the manifests of the last confirmed promotion. Given manifests: exactly those.
  const given = await givenBundleKey(config, opts, out);
  if (typeof given === 'number') return given;
  const { bundleKey } = given;
  const { client, namespace, close } = await connectClient();
  try {
    const input: AuditInput = { ...(opts.verify ? { verify: true } : {}), ...(bundleKey ? { bundleKey } : {}) };
    const workflowId = `audit-manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(auditWorkflow, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [input],
      staticSummary: `audit${input.verify ? ' (verify)' : ''}`,
    });
    out.info(`audit ${workflowId}`);
    out.info(`Temporal UI: ${workflowUrl(config, namespace, workflowId)}`);
    if (!opts.wait) {
      if (opts.json) out.json({ workflowId, runId: handle.firstExecutionRunId });
      return 0;
    }
    const report: AuditReport = await handle.result();
    if (opts.json) out.json(report);
    else {
      out.print(
        `${report.status}: ${report.repositories} repositories, ${report.digests} digests in place, ${report.tagsListed} tags listed, ${report.requests} registry requests; ${describeCounts(report.counts)}`,
      );
      for (const f of report.findings.slice(0, 50)) out.print(`  ${f.kind}: ${f.detail}`);
      if (report.findings.length > 50) out.print(`  ... ${report.findings.length - 50} more in ${report.reportKey}`);
    }
    return report.status === 'flagged' ? 1 : 0;
  } finally {
    await close();
  }
}
