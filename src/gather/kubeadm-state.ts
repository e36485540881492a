import type { RemoteHost } from "../core/host.js";
import { forEachNode } from "../core/parallel.js";
import { kubeadm, memberAddress, parseMemberList, type EtcdMember } from "../distros/kubeadm.js";
import { parseNodes, type KubeNode } from "../distros/kubectl.js";
import type { NodeSpec } from "../spec/schema.js";

/** What kubeadm looks like on the nodes right now (read-only). */
export interface KubeadmClusterState {
  /** Nodes that joined or initialised (kubelet.conf exists). */
  installed: Set<string>;
  /** Control-plane nodes with an admin kubeconfig. */
  admins: Set<string>;
  /** The control-plane node used to mint tokens, run kubectl and etcdctl; undefined when none answers. */
  leader: string | undefined;
  /** Kubernetes nodes as the leader sees them. */
  kubeNodes: KubeNode[];
  /** Stacked etcd members as the leader's member sees them (empty when etcdctl could not ask). */
  members: EtcdMember[];
  /** etcdctl answered on the leader. */
  etcdReadable: boolean;
  /**
   * Control planes' own version ("v1.33.1"), from the image of their kube-apiserver static Pod: ahead of
   * the kubelet's on a node where `kubeadm upgrade apply` or `node` ran and the kubelet package did not.
   */
  apiServerVersions: Map<string, string>;
}

export function parseFiles(stdout: string): { kubelet: boolean; admin: boolean; etcd: boolean; apiServer?: string } {
  const words = new Set(stdout.split(/\s+/));
  const apiServer = /^apiserver \S*kube-apiserver:(v\d+\.\d+\.\d+)\b/m.exec(stdout)?.[1];
  return {
    kubelet: words.has("kubelet"),
    admin: words.has("admin"),
    etcd: words.has("etcd"),
    ...(apiServer ? { apiServer } : {}),
  };
}

export async function gatherKubeadmState(
  hosts: ReadonlyMap<string, RemoteHost>,
  nodes: readonly NodeSpec[],
): Promise<KubeadmClusterState> {
  const installed = new Set<string>();
  const admins = new Set<string>();
  const apiServerVersions = new Map<string, string>();
  await forEachNode("Read kubeadm state", nodes, async (node) => {
    const host = hosts.get(node.name);
    if (!host) return;
    const files = parseFiles((await host.exec(kubeadm.files())).stdout);
    if (files.kubelet) installed.add(node.name);
    if (files.admin && node.role === "control-plane") admins.add(node.name);
    if (files.apiServer && node.role === "control-plane") apiServerVersions.set(node.name, files.apiServer);
  });
  let leader: string | undefined;
  let kubeNodes: KubeNode[] = [];
  for (const node of nodes) {
    if (!admins.has(node.name)) continue;
    const res = await (hosts.get(node.name) as RemoteHost).exec(kubeadm.kubectl("get", "nodes", "-o", "json"));
    if (res.code !== 0) continue;
    leader = node.name;
    kubeNodes = parseNodes(res.stdout);
    break;
  }
  let members: EtcdMember[] = [];
  let etcdReadable = false;
  if (leader) {
    const res = await (hosts.get(leader) as RemoteHost).exec(kubeadm.etcdctl("member", "list"));
    if (res.code === 0) {
      members = parseMemberList(res.stdout);
      etcdReadable = true;
    }
  }
  return { installed, admins, leader, kubeNodes, members, etcdReadable, apiServerVersions };
}

/** A voting (non-learner) etcd member sits on the node's address. */
export function hasVotingMember(state: Pick<KubeadmClusterState, "members">, address: string): boolean {
  return state.members.some((m) => memberAddress(m) === address && !m.learner);
}

/**
 * A node is a full member when Kubernetes lists it and, for a control plane, etcd has a voting member
 * at its address.
 */
export function isKubeadmMember(
  state: Pick<KubeadmClusterState, "kubeNodes" | "members" | "leader">,
  node: NodeSpec,
): boolean {
  if (node.name === state.leader) return true;
  if (!state.kubeNodes.some((k) => k.name === node.name)) return false;
  return node.role === "worker" || hasVotingMember(state, node.address);
}
