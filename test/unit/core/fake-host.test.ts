import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { FakeHost } from "../../fakes/fake-host.js";

describe("FakeHost", () => {
  it("answers by equal, prefix and regex matchers, first match wins", async () => {
    const h = new FakeHost("n1")
      .on({ equal: ["hostname"] }, { stdout: "n1\n" })
      .on({ prefix: ["microk8s", "kubectl"] }, { stdout: "kubectl" })
      .on({ regex: /^microk8s status/ }, { code: 1, stdout: "status" });
    expect((await h.exec({ argv: ["hostname"] })).stdout).toBe("n1\n");
    expect((await h.exec({ argv: ["hostname", "-f"] })).code).toBe(127);
    expect((await h.exec({ argv: ["microk8s", "kubectl", "get", "nodes"] })).stdout).toBe("kubectl");
    expect(await h.exec({ argv: ["microk8s", "status", "--format", "yaml"] })).toEqual({
      code: 1,
      stdout: "status",
      stderr: "",
    });
    expect(h.lines).toEqual(["hostname", "hostname -f", "microk8s kubectl get nodes", "microk8s status --format yaml"]);
    expect(h.commandCount).toBe(4);
  });

  it("plays replies in order, repeating the last with on and stopping with onceEach", async () => {
    const h = new FakeHost("n1")
      .on({ equal: ["a"] }, { stdout: "1" }, { stdout: "2" })
      .onceEach({ equal: ["b"] }, { stdout: "once" });
    const out = async (argv: [string]): Promise<string> => (await h.exec({ argv })).stdout;
    expect([await out(["a"]), await out(["a"]), await out(["a"])]).toEqual(["1", "2", "2"]);
    expect([await out(["b"]), (await h.exec({ argv: ["b"] })).code]).toEqual(["once", 127]);
  });

  it("run rejects with COMMAND_FAILED unless the exit code is ok", async () => {
    const h = new FakeHost("n1").on({ equal: ["x"] }, { code: 1, stderr: "bad" });
    await expect(h.run({ argv: ["x"] })).rejects.toMatchObject({ code: "COMMAND_FAILED", node: "n1" });
    await expect(h.run({ argv: ["x"], okCodes: [0, 1] })).resolves.toMatchObject({ code: 1 });
  });

  it("records writes and reports unchanged content", async () => {
    const h = new FakeHost("n1").withFile("/etc/hosts", "old\n");
    expect(await h.writeFile("/etc/hosts", "new\n", { backup: true })).toEqual({
      changed: true,
      backupPath: "/etc/hosts.hactl-bak",
    });
    expect(await h.writeFile("/etc/hosts", "new\n")).toEqual({ changed: false });
    expect(await h.readFile("/etc/hosts")).toBe("new\n");
    expect(h.written.map((w) => w.path)).toEqual(["/etc/hosts", "/etc/hosts"]);
    await h.exec({ argv: ["rm", "-f", "/etc/hosts"] });
    expect(await h.readFile("/etc/hosts")).toBeUndefined();
  });

  it("records stdin and sudo, and refuses commands after close", async () => {
    const h = new FakeHost("n1");
    await h.exec({ argv: ["cat"], stdin: "secret\n", sudo: true });
    expect(h.commands[0]).toMatchObject({ argv: ["cat"], stdin: "secret\n", sudo: true });
    await h.close();
    await expect(h.exec({ argv: ["true"] })).rejects.toBeInstanceOf(HactlError);
  });
});
