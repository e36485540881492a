import { describe, expect, it } from "vitest";
import { gatherArchitectures, parseUnameMachine } from "../../../src/gather/arch.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { specFrom, THREE_CP_ONE_WORKER } from "../../fakes/spec.js";

describe("the nodes' architecture", () => {
  it("reads uname -m and refuses anything but one machine name", () => {
    expect(parseUnameMachine("x86_64\n")).toBe("x86_64");
    expect(() => parseUnameMachine("uname: command not found\n")).toThrow(
      /`uname -m` printed something hactl cannot read: expected one machine name such as x86_64/,
    );
  });

  it("asks every node", async () => {
    const spec = specFrom(THREE_CP_ONE_WORKER);
    const hosts = spec.spec.nodes.map((n) =>
      new FakeHost(n.name).on(
        { prefix: ["uname", "-m"] },
        { stdout: n.name === "worker-1" ? "aarch64\n" : "x86_64\n" },
      ),
    );
    const arch = await gatherArchitectures(hostMap(...hosts), spec.spec.nodes);
    expect(Object.fromEntries(arch)).toEqual({
      "node-1": { arch: "x86_64" },
      "node-2": { arch: "x86_64" },
      "node-3": { arch: "x86_64" },
      "worker-1": { arch: "aarch64" },
    });
  });
});
