import type { Distribution, DatastoreSeat, StatusView } from "../driver.js";
import { gatherKubeadmState, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import { readFile } from "node:fs/promises";
import { HactlError } from "../../core/errors.js";
import { expandHome } from "../../spec/secrets.js";
import { ADMIN_CONF, KUBEADM_API_PORT, KUBEADM_HELM_PATH, KUBEADM_PORTS, kubeadm, memberAddress } from "../kubeadm.js";

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
  kubeletDir: "/var/lib/kubelet",
  helm: kubeadm.helm,
  async installHelm(spec, host) {
    const dist = spec.spec.distribution;
    if (dist.type !== "kubeadm" || !dist.helm) {
      throw new HactlError("SPEC_INVALID", "this kubeadm cluster has no helm binary to install a chart with", {
        remedy: "Add helm: ~/bin/helm (a helm binary on this machine) under spec.distribution.",
      });
    }
    const path = dist.helm;
    const binary = await readFile(expandHome(path)).catch((e: unknown) => {
      throw new HactlError("SPEC_INVALID", `spec.distribution.helm: ${path} cannot be read`, {
        remedy: "Point spec.distribution.helm at a helm binary on this machine.",
        cause: e,
      });
    });
    await host.run({ argv: ["mkdir", "-p", "/var/lib/hactl/bin"], sudo: true });
    await host.writeFile(KUBEADM_HELM_PATH, binary, { mode: 0o755, sudo: true });
  },
  async adminKubeconfig(host) {
    const text = await host.readFile(ADMIN_CONF, { sudo: true });
    return text ? { text } : { missing: `no ${ADMIN_CONF}` };
  },
  async observeStatus(_spec, hosts, nodes) {
    return kubeadmStatusView(await gatherKubeadmState(hosts, nodes));
  },
};
