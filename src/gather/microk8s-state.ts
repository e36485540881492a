import { need, type RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import {
  datastoreIp,
  microk8s,
  parseSnapList,
  parseStatus,
  type Microk8sStatus,
  type SnapInfo,
} from "../distros/microk8s.js";
import { parseNodes, type KubeNode } from "../distros/kubectl.js";
import type { NodeSpec } from "../spec/schema.js";

/** What MicroK8s looks like on the nodes right now (read-only). */
export interface Microk8sClusterState {
  installed: Set<string>;
  /** The microk8s snap of each installed node: version, channel, whether refreshes are held. */
  snaps: Map<string, SnapInfo>;
  /** `microk8s status` of the installed control-plane nodes (nothing reads a worker's). */
  status: Map<string, Microk8sStatus>;
  /** The control-plane node used to mint tokens and run kubectl; undefined when none is installed. */
  leader: string | undefined;
  /** Kubernetes nodes as the leader sees them. */
  kubeNodes: KubeNode[];
  /** Datastore member IPs as the leader sees them. */
  datastoreIps: Set<string>;
}

export async function gatherMicrok8sState(
  hosts: ReadonlyMap<string, RemoteHost>,
  nodes: readonly NodeSpec[],
): Promise<Microk8sClusterState> {
  const installed = new Set<string>();
  const snaps = new Map<string, SnapInfo>();
  const status = new Map<string, Microk8sStatus>();
  await forEachNode("Read MicroK8s state", nodes, async (node) => {
    const host = need(hosts, node.name);
    const list = await host.exec(microk8s.isInstalled());
    if (list.code !== 0) return;
    installed.add(node.name);
    const snap = parseSnapList(list.stdout);
    if (snap) snaps.set(node.name, snap);
    if (node.role !== "control-plane") return;
    const res = await host.exec(microk8s.statusYaml());
    status.set(node.name, parseStatus(res.stdout));
  });
  const leader = chooseLeader(nodes, status);
  let kubeNodes: KubeNode[] = [];
  let datastoreIps = new Set<string>();
  if (leader) {
    const host = need(hosts, leader);
    const res = await host.exec(microk8s.kubectl("get", "nodes", "-o", "json"));
    if (res.code === 0) kubeNodes = parseNodes(res.stdout);
    datastoreIps = new Set((status.get(leader)?.datastore ?? []).map((m) => datastoreIp(m.address)));
  }
  return { installed, snaps, status, leader, kubeNodes, datastoreIps };
}

/**
 * The running control-plane node that knows the biggest datastore: on a fresh install that is the first
 * control-plane node; on a re-run or day-2 it is a member of the existing cluster.
 */
export function chooseLeader(
  nodes: readonly NodeSpec[],
  status: ReadonlyMap<string, Microk8sStatus>,
): string | undefined {
  let best: string | undefined;
  let bestSize = -1;
  for (const node of nodes) {
    if (node.role !== "control-plane") continue;
    const s = status.get(node.name);
    if (!s || !s.running || s.isWorker) continue;
    if (s.datastore.length > bestSize) {
      best = node.name;
      bestSize = s.datastore.length;
    }
  }
  return best ?? nodes.find((n) => n.role === "control-plane" && status.has(n.name))?.name;
}

/** A node is a full member when Kubernetes lists it and, for a control plane, the datastore has it too. */
export function isMember(state: Microk8sClusterState, node: NodeSpec): boolean {
  if (node.name === state.leader) return true;
  const known = state.kubeNodes.some((k) => k.name === node.name);
  if (!known) return false;
  return node.role === "worker" || state.datastoreIps.has(node.address);
}
