import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // ONNX Runtime and sharp already use every core; more test workers only thrash two cores.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
