/**
 * Where a worker's workflow code comes from, decided by how the process runs:
 *
 * - compiled (dist/: the `promoter` command, `node dist/worker/main.js`, the container image):
 *   the bundle `npm run build` made ahead of time, dist/workflows/bundle.js. A compiled worker
 *   never bundles; without that file it refuses to start.
 * - from the TypeScript sources (tsx, the tests): bundled from source at start (webpack, seconds),
 *   so an edit takes effect on the next start without a build. Development only.
 */
import { existsSync } from 'node:fs';
import type { ReplayWorkerOptions, WorkerOptions } from '@temporalio/worker';
import { COMPILED, WORKFLOW_BUNDLE_PATH, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../workflows/location';

export type WorkflowSource = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> & {
  /** Workflow interceptor modules to bundle with the sources (a prebuilt bundle has them inside). */
  interceptorModules?: string[];
  origin: 'prebuilt bundle' | 'bundled from source';
};

export function workflowSource(): WorkflowSource {
  if (COMPILED) {
    if (!existsSync(WORKFLOW_BUNDLE_PATH)) throw new Error(`no workflow bundle at ${WORKFLOW_BUNDLE_PATH}: run \`npm run build\``);
    return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, origin: 'prebuilt bundle' };
  }
  return {
    workflowsPath: WORKFLOWS_PATH,
    bundlerOptions: { ignoreModules: [] },
    interceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    origin: 'bundled from source',
  };
}

/**
 * Options to replay histories against the workflow code a worker of this build runs (`promoter
 * replay`, the replay tests). The bundle's tracing interceptors export through the `exporter`
 * sink; a replay drops their spans.
 */
export function replayOptions(): ReplayWorkerOptions {
  const source = workflowSource();
  const code = source.workflowBundle
    ? { workflowBundle: source.workflowBundle }
    : { workflowsPath: source.workflowsPath, ...(source.interceptorModules ? { interceptors: { workflowModules: source.interceptorModules } } : {}) };
  return { ...code, sinks: { exporter: { export: { fn: () => {} } } } };
}
