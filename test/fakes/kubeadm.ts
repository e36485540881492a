import type { LocalBundle } from "../../src/bundle/local-files.js";
import type { KubeadmClusterState } from "../../src/gather/kubeadm-state.js";
import { planKubeadmInstall } from "../../src/phases/kubeadm/install.js";
import type { ClusterSpec } from "../../src/spec/schema.js";
import { allHealthyFacts } from "./facts.js";

/** A kubeadm cluster with nothing installed anywhere. */
export const EMPTY_KUBEADM: KubeadmClusterState = {
  installed: new Set(),
  admins: new Set(),
  leader: undefined,
  kubeNodes: [],
  members: [],
  etcdReadable: false,
  apiServerVersions: new Map(),
};

/** kubeadm's install plan for healthy nodes behind the VIP 10.0.0.100:7443, with no LB files or hosts entries. */
export function kubeadmInstallPlan(
  spec: ClusterSpec,
  state: KubeadmClusterState,
  bundle?: LocalBundle,
): ReturnType<typeof planKubeadmInstall> {
  return planKubeadmInstall({
    spec,
    facts: allHealthyFacts(spec),
    state,
    hostsEntriesFor: new Set(),
    lbFiles: new Map(),
    lbPackages: new Map(),
    nonlocalBind: new Set(),
    controlPlaneEndpoint: "10.0.0.100:7443",
    cniManifest: "kind: DaemonSet\n",
    joinAttempts: 3,
    ...(bundle ? { bundle } : {}),
  });
}
