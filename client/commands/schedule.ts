/** `promoter schedule`: the nightly signature re-mirroring, as a Temporal Schedule. */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import { loadConfig } from '../../lib/config';
import type { MirrorInput } from '../../lib/run/mirror-types';
import { signatureMirrorWorkflow } from '../../workflows/signature-mirror';
import { connectClient, UsageError } from '../connect';
import type { Output } from '../output';

export const SCHEDULE_ID = 'mirror-signatures';
const DEFAULT_CRON = '0 2 * * *';

export async function scheduleCommand(action: string, opts: { cron?: string; timezone?: string; json?: boolean }, out: Output): Promise<number> {
  const config = loadConfig();
  const { client, close } = await connectClient();
  const cron = opts.cron ?? DEFAULT_CRON;
  const timezone = opts.timezone ?? 'UTC';
  const input: MirrorInput = { confirm: true };
  const options: ScheduleOptions = {
    scheduleId: SCHEDULE_ID,
    spec: { cronExpressions: [cron], timezone },
    action: { type: 'startWorkflow', workflowType: signatureMirrorWorkflow, taskQueue: config.temporal.taskQueue, args: [input], workflowId: 'mirror-signatures-scheduled' },
    // A night's run still going when the next is due: skip the new one, do not pile up.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
  try {
    const handle = client.schedule.getHandle(SCHEDULE_ID);
    switch (action) {
      case 'create':
        await client.schedule.create(options);
        out.print(`schedule ${SCHEDULE_ID} created: "${cron}" ${timezone}`);
        return 0;
      case 'update':
        await handle.update((prev) => ({ ...prev, spec: { cronExpressions: [cron], timezone } }));
        out.print(`schedule ${SCHEDULE_ID} updated: "${cron}" ${timezone}`);
        return 0;
      case 'describe': {
        const d = await handle.describe();
        const summary = {
          scheduleId: SCHEDULE_ID,
          // Temporal stores cron strings as calendar specs; show them as such.
          calendars: d.spec.calendars ?? [],
          timezone: d.spec.timezone,
          paused: d.state.paused,
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
          recentActions: d.info.recentActions.map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.workflow.workflowId })),
        };
        if (opts.json) out.json(summary);
        else out.print(`schedule ${SCHEDULE_ID} (${summary.timezone ?? 'UTC'}): next run ${summary.nextActionTimes[0] ?? 'never'}${summary.paused ? ' (paused)' : ''}, ${summary.recentActions.length} recent runs`);
        return 0;
      }
      case 'delete':
        await handle.delete();
        out.print(`schedule ${SCHEDULE_ID} deleted`);
        return 0;
      case 'trigger':
        await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        out.print(`schedule ${SCHEDULE_ID} triggered`);
        return 0;
      default:
        throw new UsageError(`unknown schedule action "${action}" (create|update|describe|delete|trigger)`);
    }
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new UsageError(`schedule ${SCHEDULE_ID} does not exist; create it with \`promoter schedule create\``, 1);
    throw err;
  } finally {
    await close();
  }
}
