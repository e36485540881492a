import type { ClusterSpec } from "../spec/schema.js";
import type { BackupManifest } from "./backup-archive.js";

/**
 * Pure rules of `hactl restore`: whether a backup may go onto this cluster at all, and what a restore
 * loses. A datastore copy only fits the cluster it came from: same name, distribution and Kubernetes
 * version, and the same members (node objects, etcd member names and peer URLs are inside it).
 */

/** Every reason this backup must not be restored onto the cluster of `spec`; empty when it fits. */
export function restoreRefusals(manifest: BackupManifest, spec: ClusterSpec): string[] {
  const refusals: string[] = [];
  const d = spec.spec.distribution;
  if (manifest.cluster !== spec.metadata.name)
    refusals.push(`the backup is of cluster "${manifest.cluster}", cluster.yaml is "${spec.metadata.name}"`);
  if (manifest.distribution.type !== d.type)
    refusals.push(`the backup is of a ${manifest.distribution.type} cluster, this one runs ${d.type}`);
  else if (manifest.distribution.version !== d.version) {
    refusals.push(
      `the backup was taken on Kubernetes ${manifest.distribution.version}, cluster.yaml says ${d.version}: a datastore restores only onto the version it came from`,
    );
  }
  const now = new Map(spec.spec.nodes.map((n) => [n.name, n]));
  const then = new Map(manifest.members.map((m) => [m.name, m]));
  const gone = manifest.members.filter((m) => !now.has(m.name)).map((m) => m.name);
  const added = spec.spec.nodes.filter((n) => !then.has(n.name)).map((n) => n.name);
  const changed = manifest.members.filter((m) => {
    const n = now.get(m.name);
    return n !== undefined && (n.address !== m.address || n.role !== m.role);
  });
  if (gone.length > 0) refusals.push(`nodes in the backup but not in cluster.yaml: ${gone.join(", ")}`);
  if (added.length > 0) refusals.push(`nodes in cluster.yaml but not in the backup: ${added.join(", ")}`);
  for (const m of changed) {
    const n = now.get(m.name);
    refusals.push(`${m.name} was ${m.address} (${m.role}) in the backup, cluster.yaml has ${n?.address} (${n?.role})`);
  }
  return refusals;
}

/** A Kubernetes object as `kubectl get ... -o json` lists it (only what the restore looks at). */
export interface ListedObject {
  kind: string;
  namespace: string | undefined;
  name: string;
  creationTimestamp: string;
  owned: boolean;
}

/**
 * Top-level kinds whose objects a restore takes back to the backup; objects they own (ReplicaSets, pods,
 * endpoints) follow them through the garbage collector.
 */
export const RESTORED_KINDS = [
  "namespaces",
  "deployments",
  "statefulsets",
  "daemonsets",
  "services",
  "configmaps",
  "secrets",
  "horizontalpodautoscalers",
  "ingresses",
  "networkpolicies",
  "poddisruptionbudgets",
  "serviceaccounts",
  "roles",
  "rolebindings",
  "clusterroles",
  "clusterrolebindings",
] as const;

const PLURAL: Record<string, string> = {
  Namespace: "namespaces",
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
  Service: "services",
  ConfigMap: "configmaps",
  Secret: "secrets",
  HorizontalPodAutoscaler: "horizontalpodautoscalers",
  Ingress: "ingresses",
  NetworkPolicy: "networkpolicies",
  PodDisruptionBudget: "poddisruptionbudgets",
  ServiceAccount: "serviceaccounts",
  Role: "roles",
  RoleBinding: "rolebindings",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
};

interface RawItem {
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; creationTimestamp?: unknown; ownerReferences?: unknown };
}

/** Parses a `kubectl get <kinds> -A -o json` List. */
export function parseObjectList(stdout: string): ListedObject[] {
  const doc = JSON.parse(stdout) as { items?: RawItem[] };
  return (doc.items ?? []).flatMap((item) => {
    const m = item.metadata;
    if (typeof item.kind !== "string" || typeof m?.name !== "string" || typeof m.creationTimestamp !== "string")
      return [];
    return [
      {
        kind: item.kind,
        namespace: typeof m.namespace === "string" ? m.namespace : undefined,
        name: m.name,
        creationTimestamp: m.creationTimestamp,
        owned: Array.isArray(m.ownerReferences) && m.ownerReferences.length > 0,
      },
    ];
  });
}

/**
 * Objects a restore deletes: created after the backup was complete (the API's creation time is later
 * than the node clock right after the copy), not owned by another object. Namespaced objects come before
 * namespaces so each delete names something that still exists.
 */
export function createdAfter(objects: readonly ListedObject[], takenAt: string): ListedObject[] {
  const limit = Date.parse(takenAt);
  return objects
    .filter((o) => !o.owned && Date.parse(o.creationTimestamp) > limit && PLURAL[o.kind] !== undefined)
    .sort(
      (a, b) =>
        Number(a.kind === "Namespace") - Number(b.kind === "Namespace") || objectLabel(a).localeCompare(objectLabel(b)),
    );
}

/** `deployments/default/web` style label for messages. */
export function objectLabel(o: ListedObject): string {
  return `${PLURAL[o.kind] ?? o.kind.toLowerCase()}/${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}

/** kubectl arguments that delete one object (no error when it is already gone). */
export function deleteArgs(o: ListedObject): string[] {
  return [
    "delete",
    PLURAL[o.kind] ?? o.kind.toLowerCase(),
    o.name,
    ...(o.namespace ? ["-n", o.namespace] : []),
    "--ignore-not-found",
  ];
}

/** The confirmation text: what the restore takes back and what it deletes. */
export function lossSummary(manifest: BackupManifest, doomed: readonly ListedObject[]): string[] {
  const lines = [
    `Restoring the backup of ${manifest.cluster} taken ${manifest.takenAt} on ${manifest.takenOn} replaces the cluster's state with that copy:`,
    `  every change since ${manifest.takenAt} is lost: objects changed since go back, objects deleted since come back.`,
  ];
  if (doomed.length === 0) lines.push("  No object of the restored kinds was created after the backup.");
  else {
    lines.push(`  These ${doomed.length} object(s) were created after the backup and will be deleted:`);
    for (const o of doomed.slice(0, 50)) lines.push(`    ${objectLabel(o)} (created ${o.creationTimestamp})`);
    if (doomed.length > 50) lines.push(`    ... and ${doomed.length - 50} more`);
  }
  return lines;
}
