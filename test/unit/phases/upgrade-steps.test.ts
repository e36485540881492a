import { describe, expect, it } from "vitest";
import type { RemoteHost } from "../../../src/core/host.js";
import type { StepContext } from "../../../src/core/plan.js";
import { microk8s } from "../../../src/distros/microk8s.js";
import { UPGRADE_LABEL, checkStep, drainStep, uncordonStep } from "../../../src/phases/upgrade-steps.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { nodesJson } from "../../fakes/outputs.js";
import { RunValues } from "../../../src/core/run-values.js";

function ctx(hosts: Map<string, RemoteHost>): StepContext {
  return { hosts, signal: new AbortController().signal, log: () => undefined, values: new RunValues() };
}

describe("upgrade steps", () => {
  it("marks, then drains through another control plane; a drain that cannot evict says what is left and how to go on", async () => {
    const runner = new FakeHost("node-1")
      .on({ prefix: ["microk8s", "kubectl", "label"] }, { code: 0, stdout: "node/node-2 labeled" })
      .on(
        { prefix: ["microk8s", "kubectl", "drain"] },
        {
          code: 1,
          stderr:
            'error when evicting pods/"web-1" -n "app" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.',
        },
      );
    const step = drainStep({
      id: "drain:1.30:node-2",
      node: "node-2",
      runner: "node-1",
      minor: "1.30",
      drainSeconds: 30,
      kubectl: microk8s.kubectl,
    });
    const err = await step.run(ctx(hostMap(runner))).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "COMMAND_FAILED",
      node: "node-2",
      message: "the drain of node-2 did not finish within 30s: a pod could not be evicted",
    });
    expect(String((err as { details?: string }).details)).toContain("disruption budget");
    expect(String((err as { remedy?: string }).remedy)).toMatch(/node-2 is cordoned .* was not upgraded/);
    expect(runner.lines).toEqual([
      `microk8s kubectl label node node-2 ${UPGRADE_LABEL}=1.30 --overwrite`,
      "microk8s kubectl drain node-2 --ignore-daemonsets --delete-emptydir-data --timeout=30s",
    ]);
  });

  it("checks the node is Ready with the new minor and the voters are back; otherwise stops with the node named", async () => {
    const runner = new FakeHost("node-1").on(
      { prefix: ["microk8s", "kubectl", "get", "nodes"] },
      { code: 0, stdout: nodesJson([{ name: "node-2", version: "v1.29.15" }]) },
      { code: 0, stdout: nodesJson([{ name: "node-2", ready: "False", version: "v1.30.14" }]) },
      { code: 0, stdout: nodesJson([{ name: "node-2", version: "v1.30.14" }]) },
    );
    const node = new FakeHost("node-2");
    let voters = 2;
    const step = checkStep({
      id: "check:1.30:node-2",
      node: "node-2",
      runner: "node-1",
      minor: "1.30",
      kubectl: microk8s.kubectl,
      timeoutMs: 10_000,
      voters: { expected: 3, count: () => Promise.resolve(++voters), via: "microk8s status" },
    });
    expect(await step.run(ctx(hostMap(runner, node)))).toBe("changed");
    expect(runner.commandsMatching({ prefix: ["microk8s", "kubectl", "get"] })).toHaveLength(3);

    const stale = new FakeHost("node-1").on(
      { prefix: ["microk8s", "kubectl", "get", "nodes"] },
      { code: 0, stdout: nodesJson([{ name: "node-2", version: "v1.29.15" }]) },
    );
    const late = checkStep({
      id: "check:1.30:node-2",
      node: "node-2",
      runner: "node-1",
      minor: "1.30",
      kubectl: microk8s.kubectl,
      timeoutMs: 1,
    });
    await expect(late.run(ctx(hostMap(stale, node)))).rejects.toMatchObject({
      code: "UNHEALTHY",
      node: "node-2",
      message: "node-2 is not Ready with 1.30 after 0.001s (now: Ready, kubelet v1.29.15)",
    });
  });

  it("uncordons and removes hactl's mark", async () => {
    const runner = new FakeHost("node-1").on({ prefix: ["microk8s", "kubectl"] }, { code: 0 });
    await uncordonStep({ id: "u", node: "node-2", runner: "node-1", kubectl: microk8s.kubectl }).run(
      ctx(hostMap(runner)),
    );
    expect(runner.lines).toEqual([
      "microk8s kubectl uncordon node-2",
      `microk8s kubectl label node node-2 ${UPGRADE_LABEL}-`,
    ]);
  });
});
