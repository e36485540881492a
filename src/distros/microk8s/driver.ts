import { commandLine } from "../../core/action.js";
import type { Distribution, DatastoreSeat, InstalledVersion, StatusView } from "../driver.js";
import { readJoinedWorkerProxies, type WorkerProxyFiles } from "../../gather/worker-proxy-state.js";
import { gatherMicrok8sState, type Microk8sClusterState } from "../../gather/microk8s-state.js";
import { MICROK8S_API_PORT, MICROK8S_PORTS, datastoreIp, microk8s, snapMinor } from "../microk8s.js";
import { MICROK8S_CERTS, MICROK8S_RENEWABLE, enddatesCommand, parseEnddates } from "../certs.js";
import { parseSnapList } from "../../gather/distribution-version.js";

/** MicroK8s' kubelet state directory (its NFS how-to passes it to csi-driver-nfs as kubeletDir). */
const MICROK8S_KUBELET_DIR = "/var/snap/microk8s/common/var/lib/kubelet";

/** Pure: MicroK8s's cluster for `hactl status`: dqlite voters, standbys and spares as `microk8s status` names them. */
export function microk8sStatusView(
  state: Microk8sClusterState,
  workerProxies: ReadonlyMap<string, WorkerProxyFiles> = new Map(),
): StatusView {
  const leaderStatus = state.leader ? state.status.get(state.leader) : undefined;
  const seats = new Map<string, DatastoreSeat>(
    (leaderStatus?.datastore ?? []).map((m) => [datastoreIp(m.address), { word: m.role, votes: m.role === "voter" }]),
  );
  const versions = new Map<string, InstalledVersion>(
    [...state.snaps].map(([name, snap]) => {
      const minor = snapMinor(snap);
      return [name, { version: snap.version, held: snap.held, ...(minor ? { minor } : {}) }];
    }),
  );
  return {
    leader: state.leader,
    kubeNodes: state.kubeNodes,
    seats,
    highAvailability: leaderStatus?.haEnabled ?? false,
    haMissing: "fewer than 3 datastore voters",
    versions,
    problems: [],
    workerProxies,
  };
}

export const microk8sDriver: Distribution = {
  name: "microk8s",
  title: "MicroK8s",
  apiPort: MICROK8S_API_PORT,
  ports: MICROK8S_PORTS,
  kubectl: microk8s.kubectl,
  wipeHint: "on it run 'snap remove microk8s' and remove the /etc/keepalived and /etc/haproxy configs.",
  async adminKubeconfig(host) {
    const res = await host.exec(microk8s.config());
    return res.code === 0 && res.stdout.trim() !== ""
      ? { text: res.stdout }
      : { missing: `microk8s config exited ${res.code}` };
  },
  async installedVersion(host) {
    const res = await host.exec(microk8s.isInstalled());
    return res.code === 0 ? parseSnapList(res.stdout) : { installed: false };
  },
  /** openssl on the files in $SNAP_DATA. */
  async readCertificates(host) {
    const r = await host.run(enddatesCommand(MICROK8S_CERTS.map((c) => c.path)));
    return parseEnddates(r.stdout, MICROK8S_CERTS);
  },
  certRenewal: {
    renewable: (c) => (MICROK8S_RENEWABLE as readonly string[]).includes(c.certificate),
    // refresh-certs restarts kubelite and the cluster agent itself after each certificate.
    commands: (certificates) =>
      MICROK8S_RENEWABLE.filter((n) => certificates.includes(n)).map((n) => ({
        argv: ["microk8s", "refresh-certs", "--cert", n],
        sudo: true,
        timeoutMs: 10 * 60_000,
      })),
    describe: (commands) => commands.map(commandLine),
  },
  kubeletDir: MICROK8S_KUBELET_DIR,
  helm: microk8s.helm,
  async installHelm() {
    // microk8s helm3 is part of the snap
  },
  installFromBundle(dir, files) {
    // the base snap first: MicroK8s needs it installed
    const snaps = files
      .filter((f) => f.kind === "snap")
      .sort((a, b) => Number(a.of === "microk8s") - Number(b.of === "microk8s"));
    return snaps.flatMap((snap) => {
      const assert = files.find((f) => f.kind === "assert" && f.of === snap.of);
      return [
        ...(assert ? [microk8s.snapAck(`${dir}/${assert.name}`)] : []),
        microk8s.installFile(`${dir}/${snap.name}`, snap.of === "microk8s"),
      ];
    });
  },
  async observeStatus(spec, hosts, nodes) {
    const state = await gatherMicrok8sState(hosts, nodes);
    return microk8sStatusView(state, await readJoinedWorkerProxies(spec, { hosts }, state));
  },
};
