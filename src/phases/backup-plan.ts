import { datastoreIp, type Microk8sStatus } from "../distros/microk8s.js";
import type { ClusterSpec } from "../spec/schema.js";
import { BACKUP_FORMAT, type BackupManifest } from "./backup-archive.js";

/**
 * Pure decisions of `hactl backup`: which control plane makes the copy, what counts as a usable copy,
 * and the manifest that describes it.
 */

/** kubeadm's files a restore needs besides the snapshot: the CAs, their keys and the service-account keys. */
export const KUBEADM_PKI_FILES = [
  "/etc/kubernetes/pki/ca.crt",
  "/etc/kubernetes/pki/ca.key",
  "/etc/kubernetes/pki/sa.key",
  "/etc/kubernetes/pki/sa.pub",
  "/etc/kubernetes/pki/front-proxy-ca.crt",
  "/etc/kubernetes/pki/front-proxy-ca.key",
  "/etc/kubernetes/pki/etcd/ca.crt",
  "/etc/kubernetes/pki/etcd/ca.key",
] as const;

/**
 * The MicroK8s control plane to run `dbctl backup` on: running, HA enabled (dbctl refuses otherwise) and a
 * voter of the datastore it reports. The reasons when there is none.
 */
export function microk8sBackupRunner(
  spec: ClusterSpec,
  status: ReadonlyMap<string, Microk8sStatus>,
): { runner: string } | { refusals: string[] } {
  const refusals: string[] = [];
  for (const node of spec.spec.nodes.filter((n) => n.role === "control-plane")) {
    const s = status.get(node.name);
    if (!s) refusals.push(`${node.name}: MicroK8s is not installed or did not answer`);
    else if (!s.running) refusals.push(`${node.name}: MicroK8s is not running`);
    else if (!s.haEnabled) refusals.push(`${node.name}: high availability is off (dbctl needs it)`);
    else if (!s.datastore.some((m) => m.role === "voter" && datastoreIp(m.address) === node.address))
      refusals.push(`${node.name}: not a datastore voter`);
    else return { runner: node.name };
  }
  return { refusals };
}

/**
 * Whether a datastore copy can be the whole cluster: at least one key per node (every node has a Node
 * object in it). A dump with fewer keys is the silently empty or partial backup of canonical/microk8s#4259.
 */
export function copyTooSmall(keys: number, spec: ClusterSpec): string | undefined {
  const floor = spec.spec.nodes.length;
  return keys < floor
    ? `the datastore copy holds ${keys} keys, fewer than the cluster's ${floor} nodes: it cannot be the whole cluster (an empty or partial backup)`
    : undefined;
}

export function buildManifest(
  spec: ClusterSpec,
  taken: { on: string; startedAt: string; takenAt: string },
  datastore: BackupManifest["datastore"],
  pki: BackupManifest["pki"] = [],
): BackupManifest {
  return {
    format: BACKUP_FORMAT,
    cluster: spec.metadata.name,
    distribution: { type: spec.spec.distribution.type, version: spec.spec.distribution.version },
    members: spec.spec.nodes.map((n) => ({ name: n.name, address: n.address, role: n.role })),
    startedAt: taken.startedAt,
    takenAt: taken.takenAt,
    takenOn: taken.on,
    datastore,
    pki,
  };
}
