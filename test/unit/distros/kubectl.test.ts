import { describe, expect, it } from "vitest";
import { parseDeployments, parseNodes } from "../../../src/distros/kubectl.js";
import { nodesJson } from "../../fakes/outputs.js";

describe("parseNodes", () => {
  it("reads Ready True/False/Unknown, cordons, addresses and labels", () => {
    const nodes = parseNodes(
      nodesJson([
        { name: "node-1", ip: "10.0.0.11" },
        { name: "node-2", ip: "10.0.0.12", ready: "False" },
        { name: "node-3", ip: "10.0.0.13", ready: "Unknown" },
        { name: "worker-1", ip: "10.0.0.21", unschedulable: true, worker: true },
      ]),
    );
    expect(nodes.map((n) => [n.name, n.ready, n.unschedulable, n.internalIp])).toEqual([
      ["node-1", true, false, "10.0.0.11"],
      ["node-2", false, false, "10.0.0.12"],
      ["node-3", false, false, "10.0.0.13"],
      ["worker-1", true, true, "10.0.0.21"],
    ]);
    expect(nodes[3]?.labels["node.kubernetes.io/microk8s-worker"]).toBe("microk8s-worker");
  });

  it("reads the documented cp1 sample (cordoned control plane)", () => {
    const sample = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "Node",
          metadata: { name: "cp1", labels: { "node-role.kubernetes.io/control-plane": "" } },
          spec: {
            podCIDR: "192.168.0.0/24",
            unschedulable: true,
            taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }],
          },
          status: {
            addresses: [
              { type: "InternalIP", address: "10.0.0.11" },
              { type: "Hostname", address: "cp1" },
            ],
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "KubeletReady",
                message: "kubelet is posting ready status. AppArmor enabled",
              },
            ],
          },
        },
      ],
    });
    expect(parseNodes(sample)).toEqual([
      {
        name: "cp1",
        ready: true,
        unschedulable: true,
        internalIp: "10.0.0.11",
        labels: { "node-role.kubernetes.io/control-plane": "" },
      },
    ]);
  });

  it("treats a node without conditions or addresses as not ready and unknown address", () => {
    const n = parseNodes(JSON.stringify({ items: [{ metadata: { name: "fresh" } }] }));
    expect(n).toEqual([{ name: "fresh", ready: false, unschedulable: false, internalIp: undefined, labels: {} }]);
  });

  it("returns nothing for an empty list and rejects non-JSON (e.g. a worker's refusal)", () => {
    expect(parseNodes('{"apiVersion":"v1","items":[],"kind":"List"}')).toEqual([]);
    expect(() => parseNodes("This MicroK8s deployment is acting as a node in a cluster.")).toThrow();
  });
});

describe("parseDeployments", () => {
  it("reads desired and ready replicas, defaulting missing counts to 0", () => {
    const out = JSON.stringify({
      items: [
        {
          metadata: { name: "web", namespace: "app" },
          spec: { replicas: 3 },
          status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3 },
        },
        { metadata: { name: "scaled-down", namespace: "app" }, spec: { replicas: 0 }, status: {} },
        { metadata: { name: "new" } },
      ],
    });
    expect(parseDeployments(out)).toEqual([
      { name: "web", replicas: 3, readyReplicas: 2 },
      { name: "scaled-down", replicas: 0, readyReplicas: 0 },
      { name: "new", replicas: 0, readyReplicas: 0 },
    ]);
  });
});
