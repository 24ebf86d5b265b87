// Determinism guard: recorded histories of real runs must replay against the current workflow code.
// A change to workflows/ that would break a run in flight (or the audit of a past one) fails here.
// Record a new history with: temporal workflow show --workflow-id ID --output json > test/replay/histories/NAME.json
// (and add NAME.json -> ID to histories/workflow-ids.json when the workflow derives names from its id).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { replayOptions } from '../../worker/workflow-source';

const dir = fileURLToPath(new URL('./histories/', import.meta.url));
// Workflow ids matter where the code derives names from them (child workflow ids); default: the file name.
const ids = JSON.parse(readFileSync(`${dir}workflow-ids.json`, 'utf8')) as Record<string, string>;
const histories = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');

/**
 * The code a worker runs, tracing interceptors included, bundled once for every history (bundling
 * from source is most of a replay's cost); a prebuilt bundle is used as it is.
 */
async function bundledOnce(): Promise<ReplayWorkerOptions> {
  const options = replayOptions();
  if (!options.workflowsPath) return options;
  const { workflowsPath, interceptors, ...rest } = options;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: interceptors?.workflowModules,
    logger: new DefaultLogger('WARN'),
  });
  return { ...rest, workflowBundle };
}

describe('replay of recorded histories', () => {
  let options: ReplayWorkerOptions;
  beforeAll(async () => {
    options = await bundledOnce();
  }, 120_000);

  it('has histories to replay', () => {
    expect(histories.length).toBeGreaterThan(0);
  });
  for (const file of histories) {
    it(`${file} replays deterministically`, async () => {
      const history = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'));
      expect(history.events.length).toBeGreaterThan(10);
      await Worker.runReplayHistory(options, history, ids[file] ?? file);
    }, 60_000);
  }
});
