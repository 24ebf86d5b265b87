/**
 * What Temporal knows of a Worker Deployment: its versions, which one is current (new runs go
 * there) and which are draining (pinned runs still open on them). For `promoter deployment` and
 * the worker's start-up notice.
 */
import proto, { type temporal as api } from '@temporalio/proto';

// A CommonJS package: its namespace comes through the default export under Node's ESM loader.
const { temporal } = proto;
type DescribeResponse = api.api.workflowservice.v1.IDescribeWorkerDeploymentResponse;
type WorkflowService = { describeWorkerDeployment(req: { namespace: string; deploymentName: string }): Promise<DescribeResponse> };

interface VersionState {
  buildId: string;
  /** current | ramping | draining | drained | inactive | unspecified */
  status: string;
  createdAt?: string;
  currentSince?: string;
  drainage?: string;
}

export interface DeploymentState {
  name: string;
  current?: string;
  ramping?: string;
  versions: VersionState[];
}

const enumName = (e: Record<string, unknown>, v: unknown, prefix: string): string => {
  const name = Object.keys(e).find((k) => e[k] === v) ?? 'UNSPECIFIED';
  return name.replace(prefix, '').toLowerCase();
};

const iso = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined =>
  t?.seconds != null ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : undefined;

/** The deployment, or undefined when no worker of it has polled yet. */
export async function describeDeployment(service: WorkflowService, namespace: string, deploymentName: string): Promise<DeploymentState | undefined> {
  let res: DescribeResponse;
  try {
    res = await service.describeWorkerDeployment({ namespace, deploymentName });
  } catch (err) {
    if ((err as { code?: number }).code === 5) return undefined; // NOT_FOUND
    throw err;
  }
  const info = res.workerDeploymentInfo;
  const routing = info?.routingConfig;
  const statusEnum = temporal.api.enums.v1.WorkerDeploymentVersionStatus as unknown as Record<string, unknown>;
  const drainageEnum = temporal.api.enums.v1.VersionDrainageStatus as unknown as Record<string, unknown>;
  const versions = (info?.versionSummaries ?? []).map((v): VersionState => {
    const createdAt = iso(v.createTime);
    const currentSince = iso(v.currentSinceTime);
    const drainage = v.drainageInfo?.status ? enumName(drainageEnum, v.drainageInfo.status, 'VERSION_DRAINAGE_STATUS_') : undefined;
    return {
      buildId: v.deploymentVersion?.buildId ?? '',
      status: enumName(statusEnum, v.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_'),
      ...(createdAt ? { createdAt } : {}),
      ...(currentSince ? { currentSince } : {}),
      ...(drainage ? { drainage } : {}),
    };
  });
  const current = routing?.currentDeploymentVersion?.buildId ?? undefined;
  const ramping = routing?.rampingDeploymentVersion?.buildId ?? undefined;
  return { name: deploymentName, ...(current ? { current } : {}), ...(ramping ? { ramping } : {}), versions };
}
