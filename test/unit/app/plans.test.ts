import { describe, expect, it } from "vitest";
import { applyPlan, type ExecutorReporter } from "../../../src/core/executor.js";
import { describePlan } from "../../../src/core/plan.js";
import { APISERVER_ARGS_FILE } from "../../../src/phases/app/apiserver-args.js";
import { microk8s } from "../../../src/distros/microk8s.js";
import {
  autoscaleEnablePlan,
  externalSecretManifest,
  externalSecretPlan,
  haPlan,
  scalePlan,
} from "../../../src/phases/app/plans.js";
import type { NodeSpec } from "../../../src/spec/schema.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";

function reporter(): ExecutorReporter & { logs: string[]; steps: string[] } {
  const logs: string[] = [];
  const steps: string[] = [];
  return {
    logs,
    steps,
    phase: () => undefined,
    step: (node, message, status) => steps.push(`${node} ${status} ${message}`),
    log: (node, line) => logs.push(`[${node}] ${line}`),
  };
}

const deployList = (items: { name: string; replicas: number; ready: number }[]): string =>
  JSON.stringify({
    items: items.map((d) => ({
      metadata: { name: d.name },
      spec: { replicas: d.replicas },
      status: { readyReplicas: d.ready },
    })),
  });

const nodeList = (names: string[]): string =>
  JSON.stringify({
    items: names.map((name) => ({ metadata: { name }, status: { conditions: [{ type: "Ready", status: "True" }] } })),
  });

const signal = new AbortController().signal;

describe("scale plan", () => {
  it("scales, then polls the cluster until the replicas are ready, reporting progress", async () => {
    const leader = new FakeHost("node-1")
      .on({ prefix: ["microk8s", "kubectl", "scale"] }, { stdout: "deployment.apps/main scaled" })
      .on(
        { prefix: ["microk8s", "kubectl", "get", "deployments"] },
        { stdout: deployList([{ name: "main", replicas: 2, ready: 1 }]) },
        { stdout: deployList([{ name: "main", replicas: 2, ready: 2 }]) },
      );
    const plan = scalePlan({
      leader: "node-1",
      namespace: "app",
      targets: new Map([["main", 2]]),
      current: new Map([["main", 1]]),
      timeoutMs: 10_000,
    });
    expect(describePlan(plan)).toContain("1 → 2: kubectl scale deployment/main --replicas=2 -n app");
    const rep = reporter();
    const summary = await applyPlan(plan, { hosts: hostMap(leader), reporter: rep, signal });
    expect(summary).toEqual({ changed: 1, unchanged: 0 });
    expect(leader.lines[0]).toBe("microk8s kubectl scale deployment/main --replicas=2 -n app");
    expect(rep.logs).toEqual(["[node-1] main 1/2 ready", "[node-1] main 2/2 ready"]);
  });

  it("fails with a timeout naming the service when the replicas never get ready", async () => {
    const leader = new FakeHost("node-1")
      .on({ prefix: ["microk8s", "kubectl", "scale"] }, { stdout: "scaled" })
      .on(
        { prefix: ["microk8s", "kubectl", "get", "deployments"] },
        { stdout: deployList([{ name: "web", replicas: 3, ready: 1 }]) },
      );
    const plan = scalePlan({
      leader: "node-1",
      namespace: "app",
      targets: new Map([["web", 3]]),
      current: new Map(),
      timeoutMs: 10,
    });
    await expect(applyPlan(plan, { hosts: hostMap(leader), reporter: reporter(), signal })).rejects.toMatchObject({
      code: "COMMAND_TIMEOUT",
      message: expect.stringContaining("web to be ready (last: web 1/3 ready)"),
    });
  });
});

describe("ha plan", () => {
  const nodes: NodeSpec[] = [
    { name: "node-1", address: "10.0.0.11", role: "control-plane" },
    { name: "node-2", address: "10.0.0.12", role: "control-plane" },
    { name: "node-3", address: "10.0.0.13", role: "control-plane" },
    { name: "worker-1", address: "10.0.0.21", role: "worker" },
  ];
  const events: string[] = [];
  const make = (name: string, args: string): FakeHost => {
    const h = new FakeHost(name).withFile(APISERVER_ARGS_FILE, args);
    const record = (c: { argv: readonly string[] }) => {
      events.push(c.argv.slice(2).join(" "));
      return { code: 0, stdout: "" };
    };
    h.on({ prefix: ["microk8s", "kubectl", "cordon"] }, record)
      .on({ prefix: ["microk8s", "kubectl", "drain"] }, record)
      .on({ prefix: ["microk8s", "kubectl", "uncordon"] }, record)
      .on({ prefix: ["microk8s", "kubectl", "get", "nodes"] }, { stdout: nodeList(nodes.map((n) => n.name)) })
      .on(
        { prefix: ["microk8s", "kubectl", "get", "deployments", "-n", "kube-system"] },
        { stdout: deployList([{ name: "coredns", replicas: 3, ready: 3 }]) },
      )
      .on(
        { prefix: ["microk8s", "kubectl", "get", "deployments", "-n", "app"] },
        { stdout: deployList([{ name: "main", replicas: 1, ready: 1 }]) },
      )
      .on({ prefix: ["microk8s", "kubectl", "scale"] }, record)
      .on({ prefix: ["microk8s", "kubectl", "rollout", "restart"] }, record)
      .on(
        { prefix: ["microk8s", "kubectl", "rollout", "status"] },
        { stdout: 'deployment "main" successfully rolled out' },
      )
      .on({ equal: ["microk8s", "stop"] }, () => (events.push(`stop ${name}`), { code: 0 }))
      .on({ equal: ["microk8s", "start"] }, () => (events.push(`start ${name}`), { code: 0 }));
    return h;
  };

  it("updates control planes strictly one at a time, skips workers and nodes already set, then restarts the app once", async () => {
    events.length = 0;
    const already = "--default-not-ready-toleration-seconds=30\n--default-unreachable-toleration-seconds=30\n";
    const hosts = [make("node-1", "--x=1\n"), make("node-2", already), make("node-3", ""), make("worker-1", "")];
    const plan = haPlan({
      nodes,
      operatorFor: (n) => (n === "node-1" ? "node-2" : "node-1"),
      leader: "node-1",
      namespace: "app",
      evictionSeconds: 30,
      systemReplicas: 3,
      services: ["main"],
      drainTimeoutSeconds: 60,
      readyTimeoutMs: 5_000,
      rolloutTimeoutSeconds: 60,
    });
    expect(plan[0]?.mode).toBe("serial");
    expect(plan.map((p) => p.title)).toEqual(["Update nodes", "System services", "Restart the application"]);
    const rep = reporter();
    await applyPlan(plan, { hosts: hostMap(...hosts), reporter: rep, signal });
    expect(events).toEqual([
      "cordon node-1",
      "drain node-1 --ignore-daemonsets --delete-emptydir-data --timeout=60s",
      "stop node-1",
      "start node-1",
      "uncordon node-1",
      "cordon node-3",
      "drain node-3 --ignore-daemonsets --delete-emptydir-data --timeout=60s",
      "stop node-3",
      "start node-3",
      "uncordon node-3",
      "rollout restart deployment/main -n app",
    ]);
    expect(hosts[0]?.files.get(APISERVER_ARGS_FILE)).toBe(`--x=1\n${already}`);
    expect(hosts[0]?.written[0]?.options).toMatchObject({ sudo: true, backup: true });
    expect(hosts[1]?.written).toHaveLength(0);
    expect(hosts[3]?.written).toHaveLength(0);
    expect(rep.steps).toContain(
      "node-2 unchanged cordon, drain, apply settings, restart, wait Ready, uncordon (already done)",
    );
    const marks = rep.logs.filter((l) => / ha: (un)?cordoned /.test(l));
    expect(marks).toEqual([
      "[node-1] ha: cordoned node-1",
      "[node-1] ha: uncordoned node-1",
      "[node-3] ha: cordoned node-3",
      "[node-3] ha: uncordoned node-3",
    ]);
  });

  it("leaves the node cordoned and says so when the drain fails", async () => {
    const h = make("node-1", "");
    h.commands.length = 0;
    const failing = new FakeHost("node-2")
      .on({ prefix: ["microk8s", "kubectl", "cordon"] }, { stdout: "node/node-1 cordoned" })
      .on(
        { prefix: ["microk8s", "kubectl", "drain"] },
        { code: 1, stderr: "Cannot evict pod as it would violate the pod's disruption budget." },
      );
    const plan = haPlan({
      nodes: [nodes[0] as NodeSpec],
      operatorFor: () => "node-2",
      leader: "node-2",
      namespace: "app",
      evictionSeconds: 20,
      systemReplicas: 3,
      services: [],
      drainTimeoutSeconds: 5,
      readyTimeoutMs: 1000,
      rolloutTimeoutSeconds: 5,
    });
    await expect(applyPlan(plan, { hosts: hostMap(h, failing), reporter: reporter(), signal })).rejects.toMatchObject({
      code: "COMMAND_FAILED",
      remedy: expect.stringContaining("stays cordoned"),
    });
    expect(h.written).toHaveLength(0);
    expect(h.lines).not.toContain("microk8s stop");
  });
});

describe("autoscale plans", () => {
  it("enables metrics-server and Linkerd before the autoscalers, and keeps an identical autoscaler", () => {
    const plan = autoscaleEnablePlan({
      leader: "node-1",
      namespace: "app",
      services: ["main", "web"],
      existing: [{ name: "main", target: "main", minReplicas: 2, maxReplicas: 4 }],
      values: { minReplicas: 2, maxReplicas: 4, cpuPercent: 70 },
      metricsServerEnabled: false,
      linkerd: {
        leader: "node-1",
        namespace: "app",
        services: ["main", "web"],
        meshed: false,
        source: { kind: "microk8s-addon", communityEnabled: true, addonEnabled: false },
        kubectl: microk8s.kubectl,
        checkTimeoutMs: 1,
        rolloutTimeoutSeconds: 1,
      },
    });
    expect(plan.map((p) => p.title)).toEqual(["Metrics server", "Linkerd", "Autoscalers"]);
    const text = describePlan(plan);
    expect(text).toContain("microk8s enable metrics-server");
    expect(text).toContain("kubectl autoscale deployment web --min=2 --max=4 --cpu-percent=70 -n app");
    expect(text).not.toContain("delete hpa/main");
    expect(text).toContain("microk8s enable linkerd");
  });

  it("has no Linkerd phase when Linkerd is on and the namespace meshed already", () => {
    const plan = autoscaleEnablePlan({
      leader: "node-1",
      namespace: "app",
      services: ["main"],
      existing: [],
      values: { minReplicas: 2, maxReplicas: 4, cpuPercent: 70 },
      metricsServerEnabled: true,
      linkerd: {
        leader: "node-1",
        namespace: "app",
        services: ["main"],
        meshed: true,
        source: { kind: "microk8s-addon", communityEnabled: true, addonEnabled: true },
        kubectl: microk8s.kubectl,
        checkTimeoutMs: 1,
        rolloutTimeoutSeconds: 1,
      },
    });
    expect(plan.map((p) => p.title)).toEqual(["Autoscalers"]);
  });
});

describe("external services secret", () => {
  it("sends the values only on stdin, base64-encoded, never in argv or the plan", async () => {
    const value = "postgresql://app:VerySecret1@db:5432/app";
    const leader = new FakeHost("node-1")
      .on({ prefix: ["microk8s", "kubectl", "get", "namespace"] }, { code: 0, stdout: "namespace/app" })
      .on(
        { prefix: ["microk8s", "kubectl", "apply"] },
        { stdout: "secret/hactl-external-services serverside-applied" },
      );
    const plan = externalSecretPlan({
      leader: "node-1",
      namespace: "app",
      values: new Map([["POSTGRESQL_URL", value]]),
    });
    expect(describePlan(plan)).not.toContain("VerySecret1");
    await applyPlan(plan, { hosts: hostMap(leader), reporter: reporter(), signal });
    for (const c of leader.commands) expect(c.argv.join(" ")).not.toContain("VerySecret1");
    const apply = leader.commandsMatching({ prefix: ["microk8s", "kubectl", "apply"] })[0];
    expect(apply?.argv).toContain("--server-side");
    expect(apply?.stdin).toBe(externalSecretManifest("app", new Map([["POSTGRESQL_URL", value]])));
    expect(JSON.parse(apply?.stdin ?? "{}").data.POSTGRESQL_URL).toBe(Buffer.from(value).toString("base64"));
  });
});
