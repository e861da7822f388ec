// The long fault profile (`npm run test:faults`): the fault suite with 30 s of load per fault and the overload test
// with a 30 s overload phase, one file at a time. `npm test` (and CI) runs the same files with the short profile.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/hardening/faults.test.ts', 'test/hardening/overload.test.ts'],
    env: { PULSE_FAULT_PROFILE: 'long', PULSE_OVERLOAD_SECONDS: '30' },
    testTimeout: 60 * 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
