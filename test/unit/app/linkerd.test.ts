import { describe, expect, it } from "vitest";
import type { ExecResult } from "../../../src/core/command.js";
import { HactlError } from "../../../src/core/errors.js";
import { applyPlan, type ExecutorReporter } from "../../../src/core/executor.js";
import { describePlan } from "../../../src/core/plan.js";
import { kubeadm } from "../../../src/distros/kubeadm.js";
import { linkerdCheckFailures, linkerdCheckPassed } from "../../../src/distros/linkerd.js";
import { microk8s } from "../../../src/distros/microk8s.js";
import {
  linkerdDisablePhase,
  linkerdEnablePhase,
  type LinkerdInput,
  type LinkerdSource,
  type WorkstationLinkerd,
} from "../../../src/phases/app/linkerd.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";

const reporter: ExecutorReporter = { phase: () => undefined, step: () => undefined, log: () => undefined };
const signal = new AbortController().signal;

const NOT_AVAILABLE =
  "Linkerd not available, try enabling Linkerd. 'microk8s enable linkerd' or 'microk8s enable linkerd:--proxy-auto-inject' ";
const PASSED = "linkerd-existence\n-----------------\n√ control plane pods are ready\n\nStatus check results are √\n";
const FAILED =
  'linkerd-existence\n-----------------\n× control plane pods are ready\n    No running pods for "linkerd-destination"\n    see https://linkerd.io/2/checks/#l5d-api-control-ready for hints\n\nStatus check results are ×\n';
const meshManifest = (inject: string): string =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "app", annotations: { "linkerd.io/inject": inject } },
  });

function input(source: LinkerdSource, over: Partial<LinkerdInput> = {}): LinkerdInput {
  return {
    leader: "node-1",
    namespace: "app",
    services: ["main"],
    meshed: false,
    source,
    kubectl: source.kind === "microk8s-addon" ? microk8s.kubectl : kubeadm.kubectl,
    checkTimeoutMs: 30_000,
    rolloutTimeoutSeconds: 10,
    ...over,
  };
}

const addon = (communityEnabled: boolean, addonEnabled: boolean): LinkerdSource => ({
  kind: "microk8s-addon",
  communityEnabled,
  addonEnabled,
});

/** A scripted workstation CLI: replies by its first argument, records every call. */
function fakeCli(replies: Record<string, Partial<ExecResult>[]>): WorkstationLinkerd & { calls: string[] } {
  const calls: string[] = [];
  return {
    path: "/opt/bin/linkerd",
    calls,
    async run(args) {
      calls.push(args.join(" "));
      const key = args.join(" ");
      const list = replies[key] ?? [];
      const reply = list.length > 1 ? list.shift() : list[0];
      return { code: 0, stdout: "", stderr: "", ...(reply ?? { code: 127, stderr: `not scripted: ${key}` }) };
    },
  };
}

function microk8sLeader(): FakeHost {
  return new FakeHost("node-1")
    .on({ prefix: ["microk8s", "enable"] }, { stdout: "Linkerd is starting" })
    .on({ prefix: ["microk8s", "disable"] }, { stdout: "Deleting linkerd binary." })
    .on(
      { prefix: ["microk8s", "kubectl", "rollout", "status"] },
      { stdout: 'deployment "main" successfully rolled out' },
    )
    .on({ prefix: ["microk8s", "kubectl"] }, { stdout: "ok" });
}

describe("linkerd check output", () => {
  it("passes only on its last line, so the addon's 'not available' answer (exit 0) is no pass", () => {
    expect(linkerdCheckPassed(PASSED)).toBe(true);
    expect(linkerdCheckPassed(FAILED)).toBe(false);
    expect(linkerdCheckPassed(NOT_AVAILABLE)).toBe(false);
    expect(linkerdCheckFailures(FAILED)).toBe(
      '× control plane pods are ready\n    No running pods for "linkerd-destination"\n    see https://linkerd.io/2/checks/#l5d-api-control-ready for hints',
    );
    expect(linkerdCheckFailures(NOT_AVAILABLE)).toBe(NOT_AVAILABLE.trim());
  });
});

describe("Linkerd on MicroK8s: the community addon", () => {
  it("enables the community repository, then the addon, retries microk8s linkerd check until it passes, meshes and restarts", async () => {
    const leader = microk8sLeader().on(
      { equal: ["microk8s", "linkerd", "check"] },
      { stdout: NOT_AVAILABLE },
      { code: 1, stdout: FAILED },
      { stdout: PASSED },
    );
    const phase = linkerdEnablePhase(input(addon(false, false), { checkTimeoutMs: 60_000 }));
    expect(phase?.steps.map((s) => s.id)).toEqual([
      "linkerd:community",
      "linkerd:addon",
      "linkerd:check",
      "linkerd:mesh",
      "linkerd:restart",
    ]);
    await applyPlan(phase ? [phase] : [], { hosts: hostMap(leader), reporter, signal });
    const lines = leader.commands.map((c) => c.argv.join(" "));
    expect(lines.slice(0, 2)).toEqual(["microk8s enable community", "microk8s enable linkerd"]);
    expect(lines.filter((l) => l === "microk8s linkerd check")).toHaveLength(3);
    expect(leader.commandsMatching({ equal: ["microk8s", "kubectl", "apply", "-f", "-"] }).map((c) => c.stdin)).toEqual(
      [meshManifest("enabled")],
    );
    expect(lines).toContain("microk8s kubectl rollout restart deployment/main -n app");
    expect(leader.commands.every((c) => c.argv[0] === "microk8s" && c.sudo)).toBe(true);
  }, 20_000);

  it("has no step for an addon already enabled, and no phase when Linkerd is on and the namespace meshed", () => {
    expect(linkerdEnablePhase(input(addon(true, false)))?.steps.map((s) => s.id)).toEqual([
      "linkerd:addon",
      "linkerd:check",
      "linkerd:mesh",
      "linkerd:restart",
    ]);
    expect(linkerdEnablePhase(input(addon(true, true)))?.steps.map((s) => s.id)).toEqual([
      "linkerd:check",
      "linkerd:mesh",
      "linkerd:restart",
    ]);
    expect(linkerdEnablePhase(input(addon(true, true), { meshed: true }))).toBeUndefined();
    expect(linkerdEnablePhase(input(addon(true, false), { services: [] }))?.steps.map((s) => s.id)).toEqual([
      "linkerd:addon",
      "linkerd:check",
      "linkerd:mesh",
    ]);
  });

  it("takes the namespace out of the mesh, restarts, then disables the addon (the community repository stays)", async () => {
    const leader = microk8sLeader();
    const phase = linkerdDisablePhase(input(addon(true, true), { meshed: true }));
    expect(describePlan(phase ? [phase] : [])).toContain("microk8s disable linkerd");
    await applyPlan(phase ? [phase] : [], { hosts: hostMap(leader), reporter, signal });
    const lines = leader.commands.map((c) => c.argv.join(" "));
    expect(leader.commandsMatching({ equal: ["microk8s", "kubectl", "apply", "-f", "-"] }).map((c) => c.stdin)).toEqual(
      [meshManifest("disabled")],
    );
    expect(lines.indexOf("microk8s kubectl rollout restart deployment/main -n app")).toBeLessThan(
      lines.indexOf("microk8s disable linkerd"),
    );
    expect(lines).not.toContain("microk8s disable community");
    expect(linkerdDisablePhase(input(addon(true, false)))).toBeUndefined();
    expect(linkerdDisablePhase(input(addon(true, false), { meshed: true }))?.steps.map((s) => s.id)).toEqual([
      "linkerd:unmesh",
      "linkerd:restart",
    ]);
  });

  it("fails as unhealthy with the failing checks when microk8s linkerd check never passes", async () => {
    const leader = microk8sLeader().on({ equal: ["microk8s", "linkerd", "check"] }, { code: 1, stdout: FAILED });
    const phase = linkerdEnablePhase(input(addon(true, true), { checkTimeoutMs: 1 }));
    const err = await applyPlan(phase ? [phase] : [], { hosts: hostMap(leader), reporter, signal }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HactlError);
    expect((err as HactlError).code).toBe("UNHEALTHY");
    expect((err as HactlError).details).toContain("× control plane pods are ready");
    expect((err as HactlError).remedy).toContain("microk8s linkerd check");
  });
});

describe("Linkerd on kubeadm: the workstation's CLI, applied on a control plane", () => {
  const ADMIN_KUBECTL = ["kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"];

  function kubeadmLeader(): FakeHost {
    return new FakeHost("node-1")
      .on({ prefix: [...ADMIN_KUBECTL, "rollout", "status"] }, { stdout: 'deployment "main" successfully rolled out' })
      .on(
        { prefix: ADMIN_KUBECTL },
        { stdout: "customresourcedefinition.apiextensions.k8s.io/servers.policy.linkerd.io created" },
      );
  }

  it("renders the CRDs and the control plane here, applies them on the leader's kubectl through stdin, checks here, meshes", async () => {
    const cli = fakeCli({
      "install --crds": [{ stdout: "---\nkind: CustomResourceDefinition\n" }],
      install: [{ stdout: "---\nkind: Deployment\n" }],
      check: [{ code: 1, stdout: FAILED }, { stdout: PASSED }],
    });
    const leader = kubeadmLeader();
    const phase = linkerdEnablePhase(
      input({ kind: "workstation-cli", installed: false, cli }, { checkTimeoutMs: 60_000 }),
    );
    expect(describePlan(phase ? [phase] : [])).toContain(
      "linkerd install --crds (/opt/bin/linkerd on this machine) | kubectl apply -f - on node-1",
    );
    await applyPlan(phase ? [phase] : [], { hosts: hostMap(leader), reporter, signal });
    expect(cli.calls).toEqual(["install --crds", "install", "check", "check"]);
    expect(leader.commandsMatching({ equal: [...ADMIN_KUBECTL, "apply", "-f", "-"] }).map((c) => c.stdin)).toEqual([
      "---\nkind: CustomResourceDefinition\n",
      "---\nkind: Deployment\n",
      meshManifest("enabled"),
    ]);
    expect(leader.commands.some((c) => c.argv.includes("linkerd"))).toBe(false);
    expect(leader.commands.some((c) => c.argv[0] === "microk8s")).toBe(false);
  }, 20_000);

  it("skips the install when Linkerd's config map is there, and uninstalls through kubectl delete", async () => {
    const cli = fakeCli({ uninstall: [{ stdout: "---\nkind: Namespace\n" }] });
    expect(
      linkerdEnablePhase(input({ kind: "workstation-cli", installed: true, cli }))?.steps.map((s) => s.id),
    ).toEqual(["linkerd:check", "linkerd:mesh", "linkerd:restart"]);
    const leader = kubeadmLeader();
    const phase = linkerdDisablePhase(input({ kind: "workstation-cli", installed: true, cli }));
    expect(phase?.steps.map((s) => s.id)).toEqual(["linkerd:uninstall"]);
    await applyPlan(phase ? [phase] : [], { hosts: hostMap(leader), reporter, signal });
    expect(
      leader
        .commandsMatching({ equal: [...ADMIN_KUBECTL, "delete", "--ignore-not-found", "-f", "-"] })
        .map((c) => c.stdin),
    ).toEqual(["---\nkind: Namespace\n"]);
  });

  it("stops with the CLI's error and its path when rendering fails, before kubectl runs", async () => {
    const cli = fakeCli({ "install --crds": [{ code: 1, stderr: "Error: could not read the kubeconfig" }] });
    const leader = kubeadmLeader();
    const phase = linkerdEnablePhase(input({ kind: "workstation-cli", installed: false, cli }));
    const err = await applyPlan(phase ? [phase] : [], { hosts: hostMap(leader), reporter, signal }).catch(
      (e: unknown) => e,
    );
    expect((err as HactlError).code).toBe("COMMAND_FAILED");
    expect((err as HactlError).details).toBe("Error: could not read the kubeconfig");
    expect((err as HactlError).remedy).toContain("/opt/bin/linkerd install --crds");
    expect(leader.commands).toHaveLength(0);
  });
});
