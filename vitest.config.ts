import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code; integration tests talk to a real local stack of their own
// (.stream-migrate-test/, test ports), which test/integration/global-setup.ts starts (or reuses)
// once per run; the user's stack is never used.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'src/**/*.test.tsx'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // The services are shared and the machine has two cores: one file at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
