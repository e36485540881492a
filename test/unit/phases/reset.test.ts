import { describe, expect, it } from "vitest";
import { applyPlan } from "../../../src/core/executor.js";
import { withHostsBlock, withoutHostsBlock } from "../../../src/phases/hosts-file.js";
import { LB_FILES, cleanupSteps, forgetNodeStep, resetPhases, uninstallStep } from "../../../src/phases/reset.js";
import { FakeHost } from "../../fakes/fake-host.js";

const silent = { phase: () => undefined, step: () => undefined, log: () => undefined };
const ORIGINAL = "127.0.0.1\tlocalhost\n127.0.1.1\tnode-1\n::1\tip6-localhost\n";

describe("reset planning", () => {
  it("/etc/hosts: removing hactl's block gives back the file hactl found", () => {
    const withBlock = withHostsBlock(ORIGINAL, [
      { name: "node-1", address: "10.0.0.11" },
      { name: "node-2", address: "10.0.0.12" },
    ]);
    expect(withBlock).toContain("# BEGIN hactl cluster nodes");
    expect(withoutHostsBlock(withBlock)).toBe(ORIGINAL);
    expect(withoutHostsBlock(ORIGINAL)).toBe(ORIGINAL);
    const edited = `${withBlock}192.168.1.5\tprinter\n`;
    expect(withoutHostsBlock(edited)).toBe(`${ORIGINAL}192.168.1.5\tprinter\n`);
  });

  it("--all: load balancers stop everywhere first, then the distribution goes, then hactl's files", () => {
    const plan = resetPhases("microk8s", ["node-1", "node-2"], ["lb-1"]);
    expect(plan.map((p) => [p.title, p.steps.map((s) => s.id)])).toEqual([
      ["Stop the load balancers", ["clean-lb:node-1", "clean-lb:node-2", "clean-lb:lb-1"]],
      ["Uninstall the distribution", ["uninstall:node-1", "uninstall:node-2"]],
      [
        "Remove hactl's files",
        [
          "clean-sysctl:node-1",
          "clean-hosts:node-1",
          "clean-state:node-1",
          "clean-sysctl:node-2",
          "clean-hosts:node-2",
          "clean-state:node-2",
          "clean-sysctl:lb-1",
          "clean-hosts:lb-1",
          "clean-state:lb-1",
        ],
      ],
    ]);
    expect(uninstallStep("kubeadm", "node-1").describe).toContain("kubeadm reset -f");
    expect(forgetNodeStep("microk8s", "node-5", "node-1")).toMatchObject({
      node: "node-1",
      describe: ["microk8s kubectl delete node node-5 --ignore-not-found"],
    });
    expect(forgetNodeStep("kubeadm", "node-5", "node-1").describe[0]).toBe(
      "kubectl --kubeconfig /etc/kubernetes/admin.conf delete node node-5 --ignore-not-found",
    );
  });

  it("runs each cleanup as one script with the paths as arguments, and reports 'already done' when nothing was left", async () => {
    const host = new FakeHost("node-1", "10.0.0.11", { code: 0 }).withFile("/etc/hosts", ORIGINAL);
    await applyPlan([{ title: "clean", mode: "serial", steps: cleanupSteps("node-1") }], {
      hosts: new Map([["node-1", host]]),
      reporter: silent,
      signal: new AbortController().signal,
    });
    const lb = host.commands.find((c) => c.argv[3] === "hactl-clean-lb");
    expect(lb?.argv.slice(4)).toEqual(LB_FILES.map((f) => `${f.service}:${f.path}`));
    expect(lb?.sudo).toBe(true);
    expect(host.files.get("/etc/hosts")).toBe(ORIGINAL);
    expect(host.commandsMatching({ regex: /cat > \/etc\/hosts/ })).toHaveLength(0);
  });
});
