import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

describe("the SSH layer's entry point", () => {
  it("does not load ssh2 until the first connection", async () => {
    const require = createRequire(import.meta.url);
    const loaded = (): string[] => Object.keys(require.cache).filter((k) => k.includes("/node_modules/ssh2/"));
    const api = await import("../../../src/ssh/index.js");
    expect(typeof api.connectNode).toBe("function");
    expect(loaded()).toEqual([]);
    await import("ssh2");
    expect(loaded().length).toBeGreaterThan(0);
  });
});
