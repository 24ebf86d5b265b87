// Determinism guard: recorded histories of real runs must replay against the current workflow code.
// A change to workflows/ that would break a run in flight (or the audit of a past one) fails here.
// Record a new history with: temporal workflow show --workflow-id ID --output json > test/replay/histories/NAME.json
// (and add NAME.json -> ID to histories/workflow-ids.json when the workflow derives names from its id).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../workflows/location';

const QUIET = new DefaultLogger('WARN');
const dir = fileURLToPath(new URL('./histories/', import.meta.url));
// Workflow ids matter where the code derives names from them (child workflow ids); default: the file name.
const ids = JSON.parse(readFileSync(`${dir}workflow-ids.json`, 'utf8')) as Record<string, string>;
const histories = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json');

describe('replay of recorded histories', () => {
  // One bundle of the workflow code for every history (bundling is most of a replay's cost).
  let workflowBundle: WorkflowBundle;
  beforeAll(async () => {
    workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: QUIET });
  }, 120_000);

  it('has histories to replay', () => {
    expect(histories.length).toBeGreaterThan(0);
  });
  for (const file of histories) {
    it(`${file} replays deterministically`, async () => {
      const history = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'));
      expect(history.events.length).toBeGreaterThan(10);
      await Worker.runReplayHistory({ workflowBundle }, history, ids[file] ?? file);
    }, 60_000);
  }
});
