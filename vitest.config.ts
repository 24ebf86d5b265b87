import { defineConfig } from 'vitest/config';

// Two layers: `unit` needs nothing running (pure modules, workflows against an in-process Temporal
// dev server with mocked activities, recorded-history replays); `integration` runs against the real
// dev stack, which its global setup brings up. `npm run test:unit` runs the first alone.
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
          // Brings the dev stack up (idempotent) and exports its endpoints into process.env.
          // Test files may run in parallel: they share the registries, so each uses unique repository names.
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
