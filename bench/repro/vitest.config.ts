import { defineConfig } from 'vitest/config';

// Reproductions of open bugs, run by hand (never part of `npm test`).
export default defineConfig({
  test: { include: ['bench/repro/*.repro.ts'], testTimeout: 600_000, hookTimeout: 60_000, pool: 'forks' },
});
