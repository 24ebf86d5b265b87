import { defineConfig } from 'vitest/config';

// Three layers: `unit` needs nothing running (pure modules, workflows against an in-process Temporal
// dev server with mocked activities, recorded-history replays); `integration` runs against the real
// dev stack, which its global setup brings up; `cluster` runs against the real Temporal server of
// `stack up --cluster`. `npm run test:unit` runs the first alone.
export default defineConfig({
  test: {
    // Temporal workers (native bridge, their own threads) misbehave inside worker_threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/workflows/**/*.test.ts', 'test/activities/**/*.test.ts', 'test/replay/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ['test/integration/cluster/**'],
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
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
