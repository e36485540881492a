import { defineConfig } from "vitest/config";

/**
 * Lab files run this many at a time, each in a lab slot of its own (test/lab/lab.mjs: a worker claims the
 * lowest slot no live process holds). One by default: on 2 cores two labs saturate the CPU and the tests that
 * send requests through the VIP fail (docs/testing.md); HACTL_LAB_WORKERS=2 on a machine with more cores.
 */
const labWorkers = Number(process.env.HACTL_LAB_WORKERS ?? 1);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts", "test/kit/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/lab/global-setup.ts"],
          fileParallelism: labWorkers > 1,
          maxWorkers: labWorkers,
          sequence: { groupOrder: 1 },
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
