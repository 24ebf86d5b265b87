import { defineConfig } from 'vitest/config';

// Three layers: `unit` needs nothing running (pure modules, every activity on the in-memory
// registry and store, workflows against an in-process Temporal dev server with mocked activities,
// recorded-history replays), and its global setup installs the pinned Temporal CLI when it is
// missing; `integration` runs against the real dev stack, which its global setup brings up;
// `cluster` runs against the real Temporal server of `stack up --cluster`. They run in that order.
// `npm run test:unit` runs the first alone; `npm run test:coverage` the same with coverage.
export default defineConfig({
  test: {
    // Temporal workers (native bridge, their own threads) misbehave inside worker_threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // What the unit layer covers of the code it is about (`npm run test:coverage`).
    coverage: { provider: 'v8', include: ['activities/**/*.ts', 'lib/**/*.ts'], reporter: ['text', 'json-summary'], reportsDirectory: 'coverage' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/workflows/**/*.test.ts', 'test/activities/**/*.test.ts', 'test/replay/**/*.test.ts'],
          globalSetup: ['test/unit-setup.ts'],
          // Test files share their worker process: loading sigstore-js, the AWS and Temporal SDKs
          // afresh for every file was more than half of this layer's time, and no module here
          // keeps state of its own (the composition root, createActivities, holds it). Two
          // processes even on two cores: the parent mostly waits. A group of its own, first
          // (its worker count is its own).
          isolate: false,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ['test/integration/cluster/**'],
          sequence: { groupOrder: 1 },
          // Brings the dev stack up (idempotent) and exports its endpoints into process.env.
          // Test files may run in parallel: they share the registries, so each uses unique repository names.
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          // Against the stack's real Temporal cluster (`stack up --cluster`), which its setup brings up.
          // Some of these tests kill the cluster's services: its files run one at a time, in a group of
          // their own (a groupOrder of its own keeps the other projects' files from running alongside).
          name: 'cluster',
          include: ['test/integration/cluster/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts', 'test/cluster-setup.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
