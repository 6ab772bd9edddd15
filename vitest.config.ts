import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll waits only until the condition holds; CI's loaded cores can need more than the 1 s default.
    expect: { poll: { timeout: 15_000 } },
    // ONNX Runtime and sharp already use every core; more test workers only thrash two cores.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
