import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Mesh tests bind ports and spawn processes; files run in parallel, tests within a file in order.
    pool: 'forks',
  },
});
