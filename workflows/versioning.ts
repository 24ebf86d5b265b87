import type { VersioningBehavior, WorkflowDefinitionOptionsOrGetter } from '@temporalio/common';
import { workflowInfo } from '@temporalio/workflow';

/**
 * A workflow's versioning behaviour, declared only on versioned workers (PROMOTER_WORKER_VERSIONING
 * on): the server refuses a behaviour from a worker without a deployment version, and one bundle
 * serves both kinds. Evaluated once per execution, before the workflow function runs.
 */
export function onVersionedWorkers(versioningBehavior: VersioningBehavior): WorkflowDefinitionOptionsOrGetter {
  // An unversioned worker reports a build id of its own but no deployment name.
  return () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {});
}
