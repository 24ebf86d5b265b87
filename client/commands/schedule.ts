/** `promoter schedule`: the nightly signature re-mirroring (or, `--audit`, the audit) as a Temporal Schedule. */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import type { AuditInput } from '../../lib/run/audit';
import type { MirrorInput } from '../../lib/run/mirror-types';
import { auditWorkflow } from '../../workflows/audit';
import { signatureMirrorWorkflow } from '../../workflows/signature-mirror';
import { connectClient, UsageError } from '../connect';
import type { Output } from '../output';

export const SCHEDULE_ID = 'mirror-signatures';
const DEFAULT_CRON = '0 2 * * *';
const AUDIT_SCHEDULE_ID = 'audit';
/** Hourly, off the hour: the webhook receiver sees pushes within seconds; this catches what it missed. */
const AUDIT_DEFAULT_CRON = '30 * * * *';

export async function scheduleCommand(
  action: string,
  opts: { audit?: boolean; cron?: string; timezone?: string; json?: boolean },
  out: Output,
): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient();
  const scheduleId = opts.audit ? AUDIT_SCHEDULE_ID : SCHEDULE_ID;
  const cron = opts.cron ?? (opts.audit ? AUDIT_DEFAULT_CRON : DEFAULT_CRON);
  const timezone = opts.timezone ?? 'UTC';
  const mirrorInput: MirrorInput = { confirm: true };
  const auditInput: AuditInput = {};
  const startWorkflow = opts.audit
    ? { workflowType: auditWorkflow, args: [auditInput] as [AuditInput], workflowId: 'audit-scheduled' }
    : { workflowType: signatureMirrorWorkflow, args: [mirrorInput] as [MirrorInput], workflowId: 'mirror-signatures-scheduled' };
  const options: ScheduleOptions = {
    scheduleId,
    spec: { cronExpressions: [cron], timezone },
    action: { type: 'startWorkflow', taskQueue: config.temporal.taskQueue, ...startWorkflow },
    // A night's run still going when the next is due: skip the new one, do not pile up.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
  try {
    const handle = client.schedule.getHandle(scheduleId);
    switch (action) {
      case 'create':
        await client.schedule.create(options);
        out.print(`schedule ${scheduleId} created: "${cron}" ${timezone}`);
        return 0;
      case 'update':
        await handle.update((prev) => ({ ...prev, spec: { cronExpressions: [cron], timezone } }));
        out.print(`schedule ${scheduleId} updated: "${cron}" ${timezone}`);
        return 0;
      case 'describe': {
        const d = await handle.describe();
        const summary = {
          scheduleId,
          // Temporal stores cron strings as calendar specs; show them as such.
          calendars: d.spec.calendars ?? [],
          timezone: d.spec.timezone,
          paused: d.state.paused,
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
          recentActions: d.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
        };
        if (opts.json) out.json(summary);
        else
          out.print(
            `schedule ${scheduleId} (${summary.timezone ?? 'UTC'}): next run ${summary.nextActionTimes[0] ?? 'never'}${summary.paused ? ' (paused)' : ''}, ${summary.recentActions.length} recent runs`,
          );
        return 0;
      }
      case 'delete':
        await handle.delete();
        out.print(`schedule ${scheduleId} deleted`);
        return 0;
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        out.print(`schedule ${scheduleId} triggered`);
        return 0;
      default:
        throw new UsageError(`unknown schedule action "${action}" (create|update|describe|delete|trigger)`);
    }
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new UsageError(`schedule ${scheduleId} does not exist; create it with \`promoter schedule create\``, 1);
    throw err;
  } finally {
    await close();
  }
}
