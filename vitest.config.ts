import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Temporal workers (native bridge, their own threads) misbehave inside worker_threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Brings the dev stack up (idempotent) and exports its endpoints into process.env.
    // Test files may run in parallel: they share the registries, so each uses unique repository names.
    globalSetup: ['test/global-setup.ts'],
  },
});
