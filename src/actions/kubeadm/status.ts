import { memberAddress, ETCD_PEER_PORT } from "../../distros/kubeadm.js";
import type { KubeadmClusterState } from "../../gather/kubeadm-state.js";
import type { Microk8sStatus } from "../../distros/microk8s.js";
import type { Microk8sClusterState } from "../../gather/microk8s-state.js";
import { formatStatus, type NodeStatus, type StatusReport } from "../../phases/status-report.js";

export type EtcdRole = "etcd member" | "etcd learner" | "-";

export interface KubeadmStatusReport extends Omit<StatusReport, "nodes"> {
  nodes: (Omit<NodeStatus, "datastore"> & { datastore: EtcdRole })[];
}

/**
 * Pure: kubeadm's state dressed as MicroK8s's (a voting member as a voter, a learner as a standby), for
 * statusReport's MicroK8s-state input (restore's check). `hactl status` uses kubeadmStatusView instead.
 */
export function asDatastoreView(state: KubeadmClusterState): Microk8sClusterState {
  const datastore = state.members.map((m) => ({
    address: `${memberAddress(m) ?? m.name}:${ETCD_PEER_PORT}`,
    role: m.learner ? ("standby" as const) : ("voter" as const),
  }));
  const status = new Map<string, Microk8sStatus>();
  if (state.leader) {
    status.set(state.leader, {
      running: true,
      haEnabled: datastore.filter((d) => d.role === "voter").length >= 3,
      datastore,
      addons: new Map(),
      isWorker: false,
    });
  }
  return {
    installed: state.installed,
    snaps: new Map(),
    status,
    leader: state.leader,
    kubeNodes: state.kubeNodes,
    datastoreIps: new Set(datastore.map((d) => d.address.replace(/:\d+$/, ""))),
  };
}

export function kubeadmStatusReport(report: StatusReport): KubeadmStatusReport {
  const role = (d: NodeStatus["datastore"]): EtcdRole =>
    d === "voter" ? "etcd member" : d === "standby" ? "etcd learner" : "-";
  return { ...report, nodes: report.nodes.map((n) => ({ ...n, datastore: role(n.datastore) })) };
}

/** The shared table, its DATASTORE column in etcd's words. */
export function formatKubeadmStatus(report: StatusReport): string {
  return formatStatus(kubeadmStatusReport(report));
}
