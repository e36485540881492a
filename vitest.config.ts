import { defineConfig } from "vitest/config";

/**
 * Lab files run this many at a time, each in a lab slot of its own (test/lab/lab.mjs: a worker claims the
 * lowest slot no live process holds). HACTL_LAB_WORKERS=1 runs them one after another.
 */
const labWorkers = Number(process.env.HACTL_LAB_WORKERS ?? 2);

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
