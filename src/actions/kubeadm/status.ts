import type { RunContext } from "../../core/context.js";
import { EXIT } from "../../core/errors.js";
import { KUBEADM_API_PORT, memberAddress, ETCD_PEER_PORT } from "../../distros/kubeadm.js";
import { observeCertificates } from "../certs-status.js";
import { observeFrontends } from "../../gather/cluster-status.js";
import { gatherKubeadmState, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import type { Microk8sStatus } from "../../distros/microk8s.js";
import type { Microk8sClusterState } from "../../gather/microk8s-state.js";
import { formatStatus, statusReport, type NodeStatus, type StatusReport } from "../../phases/status-report.js";
import { loadSpecFile } from "../../spec/parse.js";
import { machinesOf, openSession } from "../session.js";

export type EtcdRole = "etcd member" | "etcd learner" | "-";

export interface KubeadmStatusReport extends Omit<StatusReport, "nodes"> {
  nodes: (Omit<NodeStatus, "datastore"> & { datastore: EtcdRole })[];
}

/**
 * Pure: the shared status rules see etcd as the datastore: a voting member counts as a voter, a learner
 * as a standby; high availability means at least 3 voting members.
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

/** The shared table with the DATASTORE column in etcd's words. */
export function formatKubeadmStatus(report: StatusReport): string {
  return formatStatus(report)
    .split("\n")
    .map((l) => l.replace(/ voter$/, " etcd member").replace(/ standby$/, " etcd learner"))
    .join("\n");
}

/** `hactl status` for kubeadm: read-only; exit 6 when anything is unhealthy or drifted from cluster.yaml. */
export async function runKubeadmStatus(opts: { file: string }, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const session = await openSession(spec, machinesOf(spec), ctx, { tolerateUnreachable: true });
  try {
    const reachableNodes = spec.spec.nodes.filter((n) => session.hosts.has(n.name));
    const state = await gatherKubeadmState(session.hosts, reachableNodes);
    const unreachable = new Set(session.unreachable.map((e) => e.node ?? ""));
    const [frontends, certs] = await Promise.all([
      observeFrontends(spec, session.hosts),
      observeCertificates(spec, session.hosts, unreachable),
    ]);
    const report = statusReport({
      spec,
      unreachable,
      state: asDatastoreView(state),
      ...frontends,
      apiPort: KUBEADM_API_PORT,
    });
    if (state.leader && !state.etcdReadable)
      report.problems.push(`etcd's member list could not be read on ${state.leader} (etcdctl)`);
    report.problems.push(...certs.problems);
    report.notes.unshift(...certs.notes);
    const healthy = report.problems.length === 0;
    ctx.reporter.result(kubeadmStatusReport({ ...report, healthy }));
    ctx.reporter.print(`\n${formatKubeadmStatus({ ...report, healthy })}`);
    return healthy ? EXIT.ok : EXIT.unhealthy;
  } finally {
    await session.close();
  }
}
