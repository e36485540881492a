import { describe, expect, it } from "vitest";
import type { Microk8sStatus } from "../../../src/distros/microk8s.js";
import { parseStatus } from "../../../src/distros/microk8s.js";
import {
  chooseLeader,
  gatherMicrok8sState,
  isMember,
  type Microk8sClusterState,
} from "../../../src/gather/microk8s-state.js";
import { FakeHost, hostMap } from "../../fakes/fake-host.js";
import { STATUS_NOT_RUNNING, STATUS_WORKER, nodesJson, statusYaml } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);
const nodes = spec.spec.nodes;
const node = (name: string) => nodes.find((n) => n.name === name) as (typeof nodes)[number];
const three = [
  { ip: "10.0.0.11", role: "voter" as const },
  { ip: "10.0.0.12", role: "voter" as const },
  { ip: "10.0.0.13", role: "voter" as const },
];

describe("chooseLeader", () => {
  it("is undefined when MicroK8s runs nowhere", () => {
    expect(chooseLeader(nodes, new Map())).toBeUndefined();
  });

  it("picks the running control plane that knows the biggest datastore", () => {
    const status = new Map<string, Microk8sStatus>([
      ["node-1", parseStatus(statusYaml())],
      ["node-2", parseStatus(statusYaml({ members: three }))],
      ["node-3", parseStatus(statusYaml({ members: three }))],
    ]);
    expect(chooseLeader(nodes, status)).toBe("node-2");
  });

  it("skips stopped nodes and workers, even when listed first", () => {
    const status = new Map<string, Microk8sStatus>([
      ["node-1", parseStatus(STATUS_NOT_RUNNING)],
      ["worker-1", parseStatus(STATUS_WORKER)],
      ["node-3", parseStatus(statusYaml())],
    ]);
    expect(chooseLeader(nodes, status)).toBe("node-3");
  });

  it("falls back to an installed control plane when none runs", () => {
    const status = new Map<string, Microk8sStatus>([["node-2", parseStatus(STATUS_NOT_RUNNING)]]);
    expect(chooseLeader(nodes, status)).toBe("node-2");
  });
});

describe("isMember", () => {
  const state = (over: Partial<Microk8sClusterState>): Microk8sClusterState => ({
    installed: new Set(),
    snaps: new Map(),
    status: new Map(),
    leader: "node-1",
    kubeNodes: [],
    datastoreIps: new Set(),
    ...over,
  });
  const kube = (...names: string[]) =>
    names.map((name) => ({ name, ready: true, unschedulable: false, internalIp: undefined, labels: {} }));

  it("counts the leader as a member", () => {
    expect(isMember(state({}), node("node-1"))).toBe(true);
  });

  it("needs a control plane in both Kubernetes and the datastore", () => {
    expect(isMember(state({ kubeNodes: kube("node-2"), datastoreIps: new Set(["10.0.0.12"]) }), node("node-2"))).toBe(
      true,
    );
    expect(isMember(state({ kubeNodes: kube("node-2"), datastoreIps: new Set(["10.0.0.11"]) }), node("node-2"))).toBe(
      false,
    );
    expect(isMember(state({ datastoreIps: new Set(["10.0.0.12"]) }), node("node-2"))).toBe(false);
  });

  it("needs a worker only in Kubernetes", () => {
    expect(isMember(state({ kubeNodes: kube("worker-1") }), node("worker-1"))).toBe(true);
    expect(isMember(state({}), node("worker-1"))).toBe(false);
  });
});

describe("gatherMicrok8sState", () => {
  const installed = (name: string, address: string, status: string) =>
    new FakeHost(name, address)
      .on(
        { equal: ["snap", "list", "microk8s"] },
        {
          stdout:
            "Name      Version  Rev   Tracking     Publisher   Notes\nmicrok8s  v1.29.15  7229  1.29/stable  canonical✓  classic\n",
        },
      )
      .on({ prefix: ["microk8s", "status"] }, { stdout: status });
  const missing = (name: string) =>
    new FakeHost(name).on(
      { equal: ["snap", "list", "microk8s"] },
      { code: 1, stderr: "error: no matching snaps installed" },
    );

  it("reports an untouched cluster as nothing installed and no leader", async () => {
    const hosts = hostMap(...nodes.map((n) => missing(n.name)));
    const s = await gatherMicrok8sState(hosts, nodes);
    expect(s.installed.size).toBe(0);
    expect(s.leader).toBeUndefined();
    expect(s.kubeNodes).toEqual([]);
    for (const h of hosts.values()) expect((h as FakeHost).lines).toEqual(["snap list microk8s"]);
  });

  it("reads status on every control plane, and nodes and datastore from the leader", async () => {
    const leader = installed("node-1", "10.0.0.11", statusYaml({ members: three })).on(
      { prefix: ["microk8s", "kubectl", "get", "nodes"] },
      { stdout: nodesJson([{ name: "node-1" }, { name: "node-2" }, { name: "node-3" }]) },
    );
    const hosts = hostMap(
      leader,
      installed("node-2", "10.0.0.12", statusYaml({ members: three })),
      installed("node-3", "10.0.0.13", STATUS_NOT_RUNNING),
      missing("worker-1"),
    );
    const s = await gatherMicrok8sState(hosts, nodes);
    expect([...s.installed].sort()).toEqual(["node-1", "node-2", "node-3"]);
    expect(s.leader).toBe("node-1");
    expect(s.status.get("node-3")?.running).toBe(false);
    expect(s.kubeNodes.map((k) => k.name)).toEqual(["node-1", "node-2", "node-3"]);
    expect([...s.datastoreIps]).toEqual(["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    expect(leader.commandsMatching({ prefix: ["microk8s", "kubectl"] })).toHaveLength(1);
    expect((hosts.get("node-2") as FakeHost).commandsMatching({ prefix: ["microk8s", "kubectl"] })).toHaveLength(0);
  });

  it("reads a worker's installation but not its status (nothing uses it)", async () => {
    const leader = installed("node-1", "10.0.0.11", statusYaml({ members: three })).on(
      { prefix: ["microk8s", "kubectl", "get", "nodes"] },
      { stdout: nodesJson([{ name: "node-1" }, { name: "worker-1" }]) },
    );
    const worker = installed("worker-1", "10.0.0.21", statusYaml());
    const s = await gatherMicrok8sState(hostMap(leader, missing("node-2"), missing("node-3"), worker), nodes);
    expect(s.installed.has("worker-1")).toBe(true);
    expect(s.status.has("worker-1")).toBe(false);
    expect(worker.lines).toEqual(["snap list microk8s"]);
  });

  it("keeps no kube nodes when kubectl fails on the leader", async () => {
    const leader = installed("node-1", "10.0.0.11", statusYaml()).on(
      { prefix: ["microk8s", "kubectl"] },
      { code: 1, stderr: "The connection to the server 127.0.0.1:16443 was refused" },
    );
    const s = await gatherMicrok8sState(
      hostMap(leader, missing("node-2"), missing("node-3"), missing("worker-1")),
      nodes,
    );
    expect(s.leader).toBe("node-1");
    expect(s.kubeNodes).toEqual([]);
    expect([...s.datastoreIps]).toEqual(["127.0.0.1"]);
  });
});
