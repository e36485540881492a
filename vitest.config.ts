import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts", "test/kit/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/lab/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
