import { describe, expect, it } from "vitest";
import { HactlError, MultiNodeError } from "../../../src/core/errors.js";
import { forEachNode } from "../../../src/core/parallel.js";

const nodes = ["node-1", "node-2", "node-3", "node-4"].map((name) => ({ name }));
const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("forEachNode", () => {
  it("returns every node's result by name", async () => {
    const out = await forEachNode("square", nodes, async (n) => n.name.length);
    expect([...out]).toEqual([
      ["node-1", 6],
      ["node-2", 6],
      ["node-3", 6],
      ["node-4", 6],
    ]);
  });

  it("runs nodes at the same time", async () => {
    let running = 0;
    let peak = 0;
    await forEachNode("overlap", nodes, async () => {
      running++;
      peak = Math.max(peak, running);
      await tick(10);
      running--;
    });
    expect(peak).toBe(nodes.length);
  });

  it("never runs more than limit nodes at once", async () => {
    let running = 0;
    let peak = 0;
    const done: string[] = [];
    await forEachNode(
      "bounded",
      nodes,
      async (n) => {
        running++;
        peak = Math.max(peak, running);
        await tick(5);
        running--;
        done.push(n.name);
      },
      2,
    );
    expect(peak).toBe(2);
    expect(done.sort()).toEqual(nodes.map((n) => n.name));
  });

  it("keeps a single failure as it is, naming the node and the step", async () => {
    const err = await forEachNode("install", nodes, async (n) => {
      if (n.name === "node-3") throw new HactlError("COMMAND_FAILED", "snap failed", { remedy: "retry" });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HactlError);
    expect(err).not.toBeInstanceOf(MultiNodeError);
    const e = err as HactlError;
    expect(e.code).toBe("COMMAND_FAILED");
    expect(e.node).toBe("node-3");
    expect(e.step).toBe("install");
    expect(e.remedy).toBe("retry");
  });

  it("keeps the node an error already names", async () => {
    const err = (await forEachNode("install", nodes.slice(0, 1), async () => {
      throw new HactlError("SSH_TIMEOUT", "timed out", { node: "bastion" });
    }).catch((e: unknown) => e)) as HactlError;
    expect(err.node).toBe("bastion");
  });

  it("waits for every node and reports all failures in one MultiNodeError", async () => {
    const finished: string[] = [];
    const err = await forEachNode("gather", nodes, async (n) => {
      await tick(n.name === "node-4" ? 20 : 1);
      finished.push(n.name);
      if (n.name === "node-1") throw new HactlError("SSH_REFUSED", "refused");
      if (n.name === "node-4") throw new HactlError("SSH_AUTH_FAILED", "denied");
    }).catch((e: unknown) => e);
    expect(finished.sort()).toEqual(nodes.map((n) => n.name));
    expect(err).toBeInstanceOf(MultiNodeError);
    const m = err as MultiNodeError;
    expect(m.step).toBe("gather");
    expect(m.message).toBe("gather failed on 2 node(s)");
    expect(m.failures.map((f) => [f.node, f.code])).toEqual([
      ["node-1", "SSH_REFUSED"],
      ["node-4", "SSH_AUTH_FAILED"],
    ]);
    expect(m.exitCode).toBe(4);
  });

  it("turns unknown throws into INTERNAL errors on that node", async () => {
    const err = (await forEachNode("x", nodes.slice(0, 1), async () => {
      throw new TypeError("boom");
    }).catch((e: unknown) => e)) as HactlError;
    expect(err.code).toBe("INTERNAL");
    expect(err.node).toBe("node-1");
    expect(err.message).toContain("boom");
  });

  it("handles an empty list", async () => {
    expect((await forEachNode("none", [], async () => 1)).size).toBe(0);
  });
});
