import type { Distribution, DatastoreSeat, StatusView } from "../driver.js";
import { gatherKubeadmState, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import { ADMIN_CONF, KUBEADM_API_PORT, KUBEADM_PORTS, kubeadm, memberAddress } from "../kubeadm.js";

/**
 * Pure: kubeadm's cluster for `hactl status`, in etcd's words: a voting member is an "etcd member", a
 * learner an "etcd learner"; high availability means at least 3 voting members.
 */
export function kubeadmStatusView(state: KubeadmClusterState): StatusView {
  const seats = new Map<string, DatastoreSeat>(
    state.members.map((m) => [
      memberAddress(m) ?? m.name,
      m.learner ? { word: "etcd learner", votes: false } : { word: "etcd member", votes: true },
    ]),
  );
  const voting = [...seats.values()].filter((s) => s.votes).length;
  return {
    leader: state.leader,
    kubeNodes: state.kubeNodes,
    seats,
    highAvailability: state.leader !== undefined && voting >= 3,
    haMissing: "fewer than 3 voting etcd members",
    versions: new Map(),
    problems:
      state.leader && !state.etcdReadable ? [`etcd's member list could not be read on ${state.leader} (etcdctl)`] : [],
    workerProxies: new Map(),
  };
}

export const kubeadmDriver: Distribution = {
  name: "kubeadm",
  title: "Kubernetes (kubeadm)",
  apiPort: KUBEADM_API_PORT,
  ports: KUBEADM_PORTS,
  kubectl: kubeadm.kubectl,
  wipeHint: "on it run 'kubeadm reset -f' and remove the /etc/keepalived and /etc/haproxy configs.",
  async adminKubeconfig(host) {
    const text = await host.readFile(ADMIN_CONF, { sudo: true });
    return text ? { text } : { missing: `no ${ADMIN_CONF}` };
  },
  installFromBundle(dir, files) {
    const debs = files.filter((f) => f.kind === "deb").map((f) => `${dir}/${f.name}`);
    return [
      kubeadm.installDebs(debs),
      { argv: ["systemctl", "enable", "kubelet"], sudo: true },
      { argv: ["systemctl", "enable", "--now", "containerd"], sudo: true },
      ...files.filter((f) => f.kind === "images").map((f) => kubeadm.importImages(`${dir}/${f.name}`)),
    ];
  },
  async observeStatus(_spec, hosts, nodes) {
    return kubeadmStatusView(await gatherKubeadmState(hosts, nodes));
  },
};
