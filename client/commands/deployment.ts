/**
 * `promoter deployment (describe | set-current [--build-id ID])`: the worker's Temporal Worker
 * Deployment. New runs go to the current version; runs already started stay on the version they
 * started on (promotions are pinned), so a version is drained, not cut off (README, "Upgrades").
 */
import { loadConfig } from '../../lib/config';
import { buildIdentity } from '../../worker/build-identity';
import { describeDeployment, type DeploymentState } from '../../worker/deployment-state';
import { connectClient, UsageError } from '../connect';
import type { Output } from '../output';

export interface DeploymentOptions {
  buildId?: string;
  deploymentName?: string;
  json?: boolean;
}

function formatDeployment(d: DeploymentState): string {
  const lines = [`deployment ${d.name}: current ${d.current ?? '(none: new runs wait for unversioned workers)'}${d.ramping ? `, ramping ${d.ramping}` : ''}`];
  for (const v of d.versions) {
    const since = v.currentSince ? `  current since ${v.currentSince}` : v.createdAt ? `  created ${v.createdAt}` : '';
    lines.push(`  ${v.buildId}  ${v.status}${v.drainage ? ` (${v.drainage})` : ''}${since}`);
  }
  return lines.join('\n');
}

export async function deploymentCommand(action: string, opts: DeploymentOptions, out: Output): Promise<number> {
  if (action !== 'describe' && action !== 'set-current') throw new UsageError(`unknown action ${action}: describe | set-current`);
  const config = loadConfig();
  // Defaults: this build (dist/build-info.json, or the checkout's commit) and PROMOTER_DEPLOYMENT_NAME.
  const me = buildIdentity({ deploymentName: opts.deploymentName ?? config.deployment.name, buildId: opts.buildId ?? config.deployment.buildId });
  const { client, namespace, close } = await connectClient();
  try {
    const service = client.workflowService;
    if (action === 'set-current') {
      const before = await describeDeployment(service, namespace, me.deploymentName);
      const known = before?.versions.some((v) => v.buildId === me.buildId);
      if (!known) {
        throw new UsageError(
          `deployment ${me.deploymentName} has no version ${me.buildId}: start its workers first (a version exists once one of them polls)`,
          1,
        );
      }
      const identity = `promoter-cli@${process.pid}`;
      await service.setWorkerDeploymentCurrentVersion({ namespace, deploymentName: me.deploymentName, buildId: me.buildId, identity });
      out.info(`${me.deploymentName}: ${me.buildId} is now current (was ${before?.current ?? 'none'}); runs started before stay on their version`);
    }
    const d = await describeDeployment(service, namespace, me.deploymentName);
    if (!d) throw new UsageError(`no worker deployment ${me.deploymentName} in namespace ${namespace} (no versioned worker has polled yet)`, 1);
    if (opts.json) out.json(d);
    else out.print(formatDeployment(d));
    return 0;
  } finally {
    await close();
  }
}
