import { describe, expect, it } from "vitest";
import { parseNodes } from "../../../src/distros/kubectl.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import type { LbObservation } from "../../../src/gather/cluster-status.js";
import type { Microk8sClusterState } from "../../../src/gather/microk8s-state.js";
import { formatStatus, statusReport, type StatusInput } from "../../../src/phases/status-report.js";
import { nodesJson, statusYaml, type DatastoreMember, type NodeDescription } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const VOTERS: DatastoreMember[] = [
  { ip: "10.0.0.11", role: "voter" },
  { ip: "10.0.0.12", role: "voter" },
  { ip: "10.0.0.13", role: "voter" },
];
const ALL: NodeDescription[] = [
  { name: "node-1" },
  { name: "node-2" },
  { name: "node-3" },
  { name: "worker-1", worker: true },
];

function state(kube: NodeDescription[] = ALL, members: DatastoreMember[] = VOTERS): Microk8sClusterState {
  const s = parseStatus(statusYaml({ members }));
  return {
    installed: new Set(["node-1", "node-2", "node-3", "worker-1"]),
    snaps: new Map(
      ["node-1", "node-2", "node-3", "worker-1"].map((n) => [
        n,
        { version: "v1.32.3", channel: "1.32/stable", held: true },
      ]),
    ),
    status: new Map([
      ["node-1", s],
      ["node-2", s],
      ["node-3", s],
    ]),
    leader: "node-1",
    kubeNodes: parseNodes(nodesJson(kube)),
    datastoreIps: new Set(members.map((m) => m.ip)),
  };
}

function haproxyOn(
  machine: string,
  endpoints = ["10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.13:16443"],
  down: string[] = [],
): LbObservation {
  return {
    machine,
    service: "haproxy",
    active: true,
    backends: endpoints.map((endpoint) => ({ endpoint, up: !down.includes(endpoint) })),
  };
}

function report(over: Partial<StatusInput> = {}) {
  return statusReport({
    spec,
    unreachable: new Set(),
    state: state(),
    vipHolders: ["node-1"],
    loadBalancers: ["node-1", "node-2", "node-3"].map((m) => haproxyOn(m)),
    apiPort: 16443,
    ...over,
  });
}

describe("statusReport", () => {
  it("finds no problem in a healthy cluster", () => {
    const r = report();
    expect(r.problems).toEqual([]);
    expect(r.healthy).toBe(true);
    expect(r.highAvailability).toBe(true);
    expect(r.distribution).toBe("microk8s 1.29");
    expect(r.vip).toEqual({ address: "10.0.0.100", holders: ["node-1"] });
    expect(r.nodes.map((n) => [n.name, n.ready, n.datastore, n.schedulable])).toEqual([
      ["node-1", true, "voter", true],
      ["node-2", true, "voter", true],
      ["node-3", true, "voter", true],
      ["worker-1", true, "-", true],
    ]);
    expect(r.notes).toHaveLength(1);
  });

  it("reports a NotReady node", () => {
    const r = report({
      state: state([
        { name: "node-1" },
        { name: "node-2", ready: "Unknown" },
        { name: "node-3" },
        { name: "worker-1" },
      ]),
    });
    expect(r.problems).toEqual(["node-2: NotReady"]);
    expect(r.healthy).toBe(false);
  });

  it("reports a node that SSH cannot reach", () => {
    const r = report({ unreachable: new Set(["worker-1"]) });
    expect(r.problems).toEqual(["worker-1: not reachable over SSH"]);
    expect(r.nodes.find((n) => n.name === "worker-1")?.reachable).toBe(false);
  });

  it("reports drift both ways: a spec node missing from the cluster and a cluster node missing from the spec", () => {
    const r = report({
      state: state([{ name: "node-1" }, { name: "node-2" }, { name: "node-3" }, { name: "stray-9" }]),
    });
    expect(r.problems).toEqual([
      "worker-1: in cluster.yaml but not in the cluster (run hactl install or hactl add-node worker-1)",
      "stray-9: in the cluster but not in cluster.yaml (drift)",
    ]);
  });

  it("reports a control plane without a datastore seat and HA off", () => {
    const r = report({ state: state(ALL, VOTERS.slice(0, 2)) });
    expect(r.problems).toContain("node-3: control plane without a datastore seat");
    expect(r.problems).toContain("high availability is off (fewer than 3 datastore voters)");
  });

  it("reports a VIP held by no machine and one held by two at once", () => {
    expect(report({ vipHolders: [] }).problems).toEqual(["VIP 10.0.0.100 is held by no machine"]);
    expect(report({ vipHolders: ["node-1", "node-2"] }).problems).toEqual([
      "VIP 10.0.0.100 is held by node-1 and node-2 at once (split brain)",
    ]);
  });

  it("reports a backend that does not answer and a stopped load balancer", () => {
    const lbs = [
      haproxyOn("node-1", undefined, ["10.0.0.13:16443"]),
      { ...haproxyOn("node-2"), active: false },
      haproxyOn("node-3"),
    ];
    expect(report({ loadBalancers: lbs }).problems).toEqual([
      "node-1: backend 10.0.0.13:16443 does not answer",
      "node-2: haproxy is not running",
    ]);
  });

  it("reports missing and extra API backends, ignoring other ports", () => {
    const lbs = [
      haproxyOn("node-1", ["10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.21:30080"]),
      haproxyOn("node-2", ["10.0.0.11:16443", "10.0.0.12:16443", "10.0.0.13:16443", "10.0.0.99:16443"]),
      haproxyOn("node-3"),
    ];
    expect(report({ loadBalancers: lbs }).problems).toEqual([
      "node-1: haproxy lacks API backends 10.0.0.13:16443 (drift; run hactl install)",
      "node-2: haproxy still sends API traffic to 10.0.0.99:16443 (drift; run hactl install)",
    ]);
  });

  it("reports a cluster nobody runs", () => {
    const r = report({
      state: {
        installed: new Set(),
        snaps: new Map(),
        status: new Map(),
        leader: undefined,
        kubeNodes: [],
        datastoreIps: new Set(),
      },
    });
    expect(r.problems).toContain("no reachable control-plane node runs the cluster");
    expect(r.problems).toContain("high availability is off (fewer than 3 datastore voters)");
    expect(r.nodes.every((n) => !n.inCluster)).toBe(true);
  });

  it("has no VIP section when the VIP was not observed", () => {
    expect(report({ vipHolders: undefined }).vip).toBeUndefined();
  });
});

describe("formatStatus", () => {
  it("prints nodes, VIP, load balancers and problems", () => {
    const r = report({
      unreachable: new Set(["worker-1"]),
      state: state([{ name: "node-1" }, { name: "node-2", unschedulable: true }, { name: "node-3", ready: "False" }]),
      vipHolders: [],
      loadBalancers: [haproxyOn("node-1", undefined, ["10.0.0.13:16443"])],
    });
    const out = formatStatus(r);
    expect(out).toMatch(/^Cluster lab \(microk8s 1\.29\): UNHEALTHY, high availability on/);
    expect(out).toMatch(/node-2 +10\.0\.0\.12 +control-plane +Ready,SchedulingDisabled +v1\.32\.3 held +voter/);
    expect(out).toMatch(/node-3 +10\.0\.0\.13 +control-plane +NotReady +v1\.32\.3 held +voter/);
    expect(out).toMatch(/worker-1 +10\.0\.0\.21 +worker +unreachable +v1\.32\.3 held +-/);
    expect(out).toContain("VIP 10.0.0.100: not held");
    expect(out).toContain("node-1 haproxy running: 10.0.0.11:16443 up, 10.0.0.12:16443 up, 10.0.0.13:16443 DOWN");
    expect(out).toContain("\nProblems:\n  - node-3: NotReady\n  - worker-1: not reachable over SSH\n");
  });

  it("warns on mixed versions and on nodes snapd may refresh, without making the cluster unhealthy", () => {
    const base = state();
    const snaps = new Map(base.snaps);
    snaps.set("node-2", { version: "v1.33.1", channel: "1.33/stable", held: true });
    snaps.set("worker-1", { version: "v1.32.3", channel: "1.32/stable", held: false });
    const r = report({ state: { ...base, snaps } });
    expect(r.healthy).toBe(true);
    expect(r.warnings).toEqual([
      "mixed Kubernetes versions: 1.32 on node-1, node-3, worker-1; 1.33 on node-2 (finish with hactl upgrade)",
      "MicroK8s refreshes are not held on worker-1: snapd may upgrade them on its own (hactl install holds them)",
    ]);
    expect(r.nodes.find((n) => n.name === "worker-1")).toMatchObject({ version: "v1.32.3", held: false });
    expect(formatStatus(r)).toContain("\nWarnings:\n  - mixed Kubernetes versions");
    expect(formatStatus(r)).toMatch(/worker-1 .* v1\.32\.3 NOT held/);
  });
});
