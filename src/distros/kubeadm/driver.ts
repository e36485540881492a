import type { Distribution, DatastoreSeat, StatusView } from "../driver.js";
import { gatherKubeadmState, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import type { Command } from "../../core/command.js";
import {
  KUBEADM_KUBELET_CERT,
  RENEWABLE_KINDS,
  enddatesCommand,
  parseCheckExpiration,
  parseEnddates,
} from "../certs.js";
import { parseKubeadmShort } from "../../gather/distribution-version.js";

const CHECK_EXPIRATION: Command = { argv: ["kubeadm", "certs", "check-expiration"], sudo: true, timeoutMs: 60_000 };

/** The manifests of kubeadm's static pods, and where a restart parks them meanwhile. */
const MANIFESTS = "/etc/kubernetes/manifests";
const PARKED = "/etc/kubernetes/manifests.hactl-restart";

/**
 * Renews every certificate kubeadm manages (never the CAs), then restarts the control-plane static pods
 * so they load them: the kubelet stops a static pod when its manifest leaves the directory and starts it
 * again when it comes back. Manifests parked by an interrupted run are put back first.
 */
const RENEW_SCRIPT = `set -e
m=$1 p=$2
if [ -d "$p" ]; then for f in "$p"/*.yaml; do [ -e "$f" ] && mv "$f" "$m"/; done; rmdir "$p"; fi
kubeadm certs renew all
mkdir -p "$p"
for f in "$m"/*.yaml; do [ -e "$f" ] && mv "$f" "$p"/; done
sleep 20
for f in "$p"/*.yaml; do [ -e "$f" ] && mv "$f" "$m"/; done
rmdir "$p"
systemctl restart kubelet`;
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
  async installedVersion(host) {
    const res = await host.exec(kubeadm.versionShort());
    return res.code === 0 ? parseKubeadmShort(res.stdout) : { installed: false };
  },
  /** kubeadm's own check on a control plane, plus the kubelet's serving certificate (which kubeadm does not manage). */
  async readCertificates(host, node) {
    const kubelet = parseEnddates((await host.run(enddatesCommand([KUBEADM_KUBELET_CERT.path]))).stdout, [
      KUBEADM_KUBELET_CERT,
    ]);
    if (node.role !== "control-plane") return kubelet;
    const r = await host.run(CHECK_EXPIRATION);
    return [...parseCheckExpiration(r.stdout), ...kubelet];
  },
  certRenewal: {
    renewable: (c) => RENEWABLE_KINDS.includes(c.kind) && c.certificate !== "kubelet.crt",
    commands: () => [
      { argv: ["sh", "-c", RENEW_SCRIPT, "hactl-certs-renew", MANIFESTS, PARKED], sudo: true, timeoutMs: 10 * 60_000 },
    ],
    describe: () => [
      "kubeadm certs renew all",
      `restart the static pods (manifests out of ${MANIFESTS} for 20 s) and the kubelet`,
    ],
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
