import type { ExternalLbInput, KeepalivedHaproxyInput, LbNode } from "../../../src/lb/index.js";

export const controlPlanes: LbNode[] = [
  { name: "node-1", address: "10.77.0.11" },
  { name: "node-2", address: "10.77.0.12" },
  { name: "node-3", address: "10.77.0.13" },
];
export const worker: LbNode = { name: "node-4", address: "10.77.0.14" };

/** MicroK8s lab cluster, rendered for the first control plane. */
export function cpInput(over: Partial<KeepalivedHaproxyInput> = {}): KeepalivedHaproxyInput {
  return {
    clusterName: "lab",
    vip: "10.77.0.100",
    interface: "eth0",
    virtualRouterId: 51,
    unicast: false,
    apiPort: 7443,
    backendApiPort: 16443,
    controlPlanes,
    self: controlPlanes[0]!,
    priority: 150,
    authPass: "k8svrrp1",
    ...over,
  };
}

export const externalPorts: ExternalLbInput["ports"] = [
  { port: 80, protocol: "tcp" },
  { port: 443, protocol: "tcp" },
  { port: 4443, protocol: "tcp" },
  { port: 7443, protocol: "tcp", backendPort: 16443, backends: controlPlanes, readyz: true },
  { port: 15000, protocol: "tcp" },
  { port: 12201, protocol: "udp" },
];

/** Two LB hosts sharing a VIP, rendered for lb-1. */
export function externalInput(over: Partial<ExternalLbInput> = {}): ExternalLbInput {
  return {
    engine: "nginx",
    clusterName: "lab",
    vip: "10.77.0.200",
    interface: "eth0",
    virtualRouterId: 52,
    unicast: true,
    authPass: "lbvrrp22",
    self: { name: "lb-1", address: "10.77.0.201" },
    peers: [{ name: "lb-2", address: "10.77.0.202" }],
    priority: 150,
    ports: externalPorts,
    backends: [...controlPlanes, worker],
    ...over,
  };
}
