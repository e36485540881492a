import type { NodeFacts } from "../../src/gather/facts.js";
import type { ClusterSpec } from "../../src/spec/schema.js";

/** Facts of a healthy, untouched Ubuntu node of `spec` that resolves and reaches every other node. */
export function healthyFacts(spec: ClusterSpec, name: string, over: Partial<NodeFacts> = {}): NodeFacts {
  const machines = [...spec.spec.nodes, ...(spec.spec.loadBalancer.external?.hosts ?? [])];
  const self = machines.find((m) => m.name === name);
  if (!self) throw new Error(`${name} is not in the spec`);
  return {
    osId: "ubuntu",
    osVersion: "22.04",
    arch: "x86_64",
    hostname: name,
    cpus: 4,
    memoryMiB: 8192,
    diskGiB: 40,
    clockSkewMs: 120,
    clockErrorMs: 2,
    interfaces: new Map([
      ["lo", ["127.0.0.1"]],
      ["eth0", [self.address]],
    ]),
    listening: new Set([22]),
    resolves: new Map(machines.map((m) => [m.name, m.address])),
    lookupTimeouts: [],
    nameservers: ["10.0.0.2"],
    commands: new Set(["snap", "bash"]),
    reachable: new Set(spec.spec.nodes.map((n) => `${n.address}:22`)),
    nonlocalBind: false,
    hostsBlock: [],
    ...over,
  };
}

/** healthyFacts for every node and LB host of the spec. */
export function allHealthyFacts(spec: ClusterSpec): Map<string, NodeFacts> {
  const machines = [...spec.spec.nodes, ...(spec.spec.loadBalancer.external?.hosts ?? [])];
  return new Map(machines.map((m) => [m.name, healthyFacts(spec, m.name)]));
}
