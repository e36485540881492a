// The cluster model kept in etcd: nodes, readiness leases, datastore roles, tokens, addons and API objects.
/* global structuredClone */
import { createHash } from "node:crypto";
import { Etcd, EtcdRequestError, EtcdUnavailable } from "./etcd.mjs";
import { fail, kitEnv } from "./util.mjs";

export const K = {
  cluster: "/kit/cluster",
  node: (/** @type {string} */ n) => `/kit/nodes/${n}`,
  nodes: "/kit/nodes/",
  alive: (/** @type {string} */ n) => `/kit/alive/${n}`,
  alives: "/kit/alive/",
  dqlite: (/** @type {string} */ n) => `/kit/dqlite/${n}`,
  dqlites: "/kit/dqlite/",
  bootstrap: (/** @type {string} */ id) => `/kit/bootstrap-tokens/${id}`,
  bootstraps: "/kit/bootstrap-tokens/",
  certKey: "/kit/kubeadm-certs",
  addon: (/** @type {string} */ a) => `/kit/addons/${a}`,
  addons: "/kit/addons/",
  /** set once a CNI's node DaemonSet is applied: kubeadm nodes are NotReady until then */
  cni: "/kit/cni",
  obj: (/** @type {string} */ kind, /** @type {string} */ ns, /** @type {string} */ name) =>
    `/kit/objects/${kind}/${ns || "_"}/${name}`,
  objs: (/** @type {string} */ kind, /** @type {string} */ ns) => `/kit/objects/${kind}/${ns ? `${ns}/` : ""}`,
};

/** Open the store, turning datastore unavailability into the given error (kubectl-like by default). */
export async function withStore(
  /** @type {(db: Etcd) => Promise<any>} */ fn,
  /** @type {(e: Error) => never} */ onDown = kubectlDown,
) {
  const db = new Etcd();
  try {
    return await fn(db);
  } catch (e) {
    if (e instanceof EtcdUnavailable || e instanceof EtcdRequestError) onDown(e);
    throw e;
  }
}

/** @returns {never} */
export function kubectlDown(/** @type {Error} */ e) {
  fail(1, `Error from server: ${/^etcdserver|context/.test(e.message) ? e.message : `etcdserver: ${e.message}`}`);
}

// ---------------------------------------------------------------------------------------------
// Kinds and resource names

/** @type {Record<string, {plural: string, group: string, cluster?: boolean, aliases: string[]}>} */
const KINDS = {
  Deployment: { plural: "deployments", group: "apps", aliases: ["deploy", "deployment"] },
  DaemonSet: { plural: "daemonsets", group: "apps", aliases: ["ds", "daemonset"] },
  StatefulSet: { plural: "statefulsets", group: "apps", aliases: ["sts", "statefulset"] },
  Namespace: { plural: "namespaces", group: "", cluster: true, aliases: ["ns", "namespace"] },
  Node: { plural: "nodes", group: "", cluster: true, aliases: ["no", "node"] },
  Pod: { plural: "pods", group: "", aliases: ["po", "pod"] },
  ConfigMap: { plural: "configmaps", group: "", aliases: ["cm", "configmap"] },
  Secret: { plural: "secrets", group: "", aliases: ["secret"] },
  Service: { plural: "services", group: "", aliases: ["svc", "service"] },
  ServiceAccount: { plural: "serviceaccounts", group: "", aliases: ["sa", "serviceaccount"] },
  HorizontalPodAutoscaler: {
    plural: "horizontalpodautoscalers",
    group: "autoscaling",
    aliases: ["hpa", "horizontalpodautoscaler"],
  },
  PodDisruptionBudget: { plural: "poddisruptionbudgets", group: "policy", aliases: ["pdb", "poddisruptionbudget"] },
  CustomResourceDefinition: {
    plural: "customresourcedefinitions",
    group: "apiextensions.k8s.io",
    cluster: true,
    aliases: ["crd", "crds", "customresourcedefinition"],
  },
  ClusterRole: { plural: "clusterroles", group: "rbac.authorization.k8s.io", cluster: true, aliases: ["clusterrole"] },
  ClusterRoleBinding: {
    plural: "clusterrolebindings",
    group: "rbac.authorization.k8s.io",
    cluster: true,
    aliases: ["clusterrolebinding"],
  },
  Role: { plural: "roles", group: "rbac.authorization.k8s.io", aliases: ["role"] },
  RoleBinding: { plural: "rolebindings", group: "rbac.authorization.k8s.io", aliases: ["rolebinding"] },
  MutatingWebhookConfiguration: {
    plural: "mutatingwebhookconfigurations",
    group: "admissionregistration.k8s.io",
    cluster: true,
    aliases: [],
  },
  ValidatingWebhookConfiguration: {
    plural: "validatingwebhookconfigurations",
    group: "admissionregistration.k8s.io",
    cluster: true,
    aliases: [],
  },
  APIService: { plural: "apiservices", group: "apiregistration.k8s.io", cluster: true, aliases: ["apiservice"] },
  PriorityClass: {
    plural: "priorityclasses",
    group: "scheduling.k8s.io",
    cluster: true,
    aliases: ["pc", "priorityclass"],
  },
  Ingress: { plural: "ingresses", group: "networking.k8s.io", aliases: ["ing", "ingress"] },
  NetworkPolicy: { plural: "networkpolicies", group: "networking.k8s.io", aliases: ["netpol", "networkpolicy"] },
  StorageClass: { plural: "storageclasses", group: "storage.k8s.io", cluster: true, aliases: ["sc", "storageclass"] },
  CSIDriver: { plural: "csidrivers", group: "storage.k8s.io", cluster: true, aliases: ["csidriver"] },
  PersistentVolumeClaim: { plural: "persistentvolumeclaims", group: "", aliases: ["pvc", "persistentvolumeclaim"] },
  PersistentVolume: { plural: "persistentvolumes", group: "", cluster: true, aliases: ["pv", "persistentvolume"] },
  Event: { plural: "events", group: "", aliases: ["ev", "event"] },
};

/** @param {string} kind @param {string} [apiVersion] */
export function kindInfo(kind, apiVersion) {
  const known = KINDS[kind];
  if (known) return { kind, ...known, cluster: Boolean(known.cluster) };
  const group = apiVersion?.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";
  return { kind, plural: `${kind.toLowerCase()}s`, group, cluster: false, aliases: [] };
}

/** Resolve a CLI resource word (deploy, deployments.apps, hpa, ns, ...) to a kind. */
export function resolveKind(/** @type {string} */ word) {
  const w = word.toLowerCase().split(".")[0] ?? "";
  for (const [kind, info] of Object.entries(KINDS)) {
    if (w === info.plural || info.aliases.includes(w) || w === kind.toLowerCase()) return kind;
  }
  return undefined;
}

/** `deployment.apps` style name for printer lines. */
export function singular(/** @type {string} */ kind, /** @type {string|undefined} */ apiVersion = undefined) {
  const info = kindInfo(kind, apiVersion);
  return info.group ? `${kind.toLowerCase()}.${info.group}` : kind.toLowerCase();
}

/** `deployments.apps` style name for error lines. */
export function pluralName(/** @type {string} */ kind) {
  const info = kindInfo(kind);
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

export const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function namespaceExists(/** @type {Etcd} */ db, /** @type {string} */ ns) {
  if (BUILTIN_NAMESPACES.includes(ns)) return true;
  return Boolean(await db.getRaw(K.obj("Namespace", "", ns)));
}

/** @returns {never} */
export function notFound(/** @type {string} */ kind, /** @type {string} */ name) {
  fail(1, `Error from server (NotFound): ${pluralName(kind)} "${name}" not found`);
}

// ---------------------------------------------------------------------------------------------
// Objects

const stripVolatile = (/** @type {any} */ o) => {
  const c = structuredClone(o);
  delete c.status;
  delete c.kit;
  if (c.metadata) {
    for (const k of ["creationTimestamp", "resourceVersion", "uid", "generation", "managedFields"])
      delete c.metadata[k];
  }
  return JSON.stringify(c);
};

/** DaemonSets that run on every node but are no pod network: applying them readies no kubeadm node. */
const NOT_CNI = ["kube-proxy", "csi-nfs-node"];

/**
 * Store an object (kubectl apply semantics): created / configured / unchanged.
 * @param {Etcd} db @param {any} obj @returns {Promise<"created"|"configured"|"unchanged">}
 */
export async function applyObject(db, obj) {
  if (obj.kind === "Secret" && obj.stringData) {
    // The API server folds stringData into data (base64) and never stores stringData.
    obj = {
      ...obj,
      data: {
        ...(obj.data ?? {}),
        ...Object.fromEntries(
          Object.entries(obj.stringData).map(([k, v]) => [k, Buffer.from(String(v)).toString("base64")]),
        ),
      },
    };
    delete obj.stringData;
  }
  const info = kindInfo(obj.kind, obj.apiVersion);
  const ns = info.cluster ? "" : obj.metadata.namespace || "default";
  if (!info.cluster && !(await namespaceExists(db, ns)))
    fail(1, `Error from server (NotFound): error when creating "STDIN": namespaces "${ns}" not found`);
  const key = K.obj(obj.kind, ns, obj.metadata.name);
  /** @type {"created"|"configured"|"unchanged"} */
  let verdict = "created";
  await db.update(key, (cur) => {
    const next = structuredClone(obj);
    next.metadata = { ...next.metadata, ...(ns ? { namespace: ns } : {}) };
    if (cur) {
      if (stripVolatile(cur) === stripVolatile(next)) {
        verdict = "unchanged";
        return undefined;
      }
      verdict = "configured";
      next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      next.metadata.uid = cur.metadata.uid;
      next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
      next.kit = cur.kit;
    } else {
      verdict = "created";
      next.metadata.creationTimestamp = new Date().toISOString();
      next.metadata.uid = uid(key);
      next.metadata.generation = 1;
    }
    if (obj.kind === "Deployment") next.kit = rolloutMark(cur, next);
    return next;
  });
  if (obj.kind === "DaemonSet" && !NOT_CNI.includes(obj.metadata.name)) {
    await db.put(K.cni, { name: obj.metadata.name, namespace: ns, at: new Date().toISOString() });
  }
  return verdict;
}

function uid(/** @type {string} */ seed) {
  const h = createHash("sha256").update(`${seed}${Date.now()}${Math.random()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// ---------------------------------------------------------------------------------------------
// Deployments: ready replicas follow the spec after a short simulated rollout

export function rolloutMs() {
  const v = Number(kitEnv("HACTL_KIT_ROLLOUT_MS") ?? 1500);
  return Number.isFinite(v) && v >= 0 ? v : 1500;
}

/** Start a new rollout from the current state. @param {any} cur @param {any} next */
export function rolloutMark(cur, next, restart = false) {
  const now = Date.now();
  const prev = cur ? deploymentProgress(cur, true, now) : { ready: 0 };
  return {
    changedAt: now,
    fromReady: prev.ready,
    rolloutMs: rolloutMs(),
    restart,
    restartedAt: restart ? now : cur?.kit?.restartedAt,
  };
}

/**
 * @param {any} dep @param {boolean} capacity whether any Ready, schedulable node can run its pods
 * @returns {{replicas: number, ready: number, updated: number, done: boolean}}
 */
export function deploymentProgress(dep, capacity, now = Date.now()) {
  const replicas = Number(dep.spec?.replicas ?? 1);
  const kit = dep.kit ?? { changedAt: 0, fromReady: replicas, rolloutMs: 0 };
  const target = capacity ? replicas : 0;
  const dur = Math.max(1, Number(kit.rolloutMs ?? 0));
  const frac = Math.min(1, Math.max(0, (now - Number(kit.changedAt ?? 0)) / dur));
  if (!capacity) return { replicas, ready: 0, updated: replicas, done: replicas === 0 };
  if (frac >= 1) return { replicas, ready: target, updated: replicas, done: true };
  const from = Math.min(Number(kit.fromReady ?? 0), Math.max(replicas, Number(kit.fromReady ?? 0)));
  const ready = Math.max(0, Math.round(from + (target - from) * frac));
  const updated = kit.restart ? Math.floor(replicas * frac) : replicas;
  return { replicas, ready: kit.restart ? Math.min(ready, replicas) : ready, updated, done: false };
}

/** The object as the API would show it, with computed status. @param {any} dep @param {boolean} capacity */
export function deploymentView(dep, capacity) {
  const p = deploymentProgress(dep, capacity);
  const view = structuredClone(dep);
  delete view.kit;
  if (dep.kit?.restartedAt) {
    view.spec ??= {};
    view.spec.template ??= {};
    view.spec.template.metadata ??= {};
    view.spec.template.metadata.annotations = {
      ...(view.spec.template.metadata.annotations ?? {}),
      "kubectl.kubernetes.io/restartedAt": new Date(dep.kit.restartedAt).toISOString(),
    };
  }
  view.status = {
    observedGeneration: dep.metadata.generation ?? 1,
    replicas: p.replicas,
    updatedReplicas: p.updated,
    readyReplicas: p.ready,
    availableReplicas: p.ready,
    ...(p.replicas - p.ready > 0 ? { unavailableReplicas: p.replicas - p.ready } : {}),
    conditions: [
      {
        type: "Available",
        status: p.ready >= Math.min(1, p.replicas) && capacity ? "True" : "False",
        reason: p.ready > 0 ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
      },
      { type: "Progressing", status: "True", reason: p.done ? "NewReplicaSetAvailable" : "ReplicaSetUpdated" },
    ],
  };
  return view;
}

// ---------------------------------------------------------------------------------------------
// Nodes

/**
 * @typedef {{ name: string, address: string, role: "control-plane"|"worker", distro: "microk8s"|"kubeadm",
 *   version: string, labels: Record<string,string>, taints: {key: string, effect: string, value?: string, timeAdded?: string}[],
 *   unschedulable?: boolean, createdAt: string }} NodeRec
 */

/**
 * All nodes with their readiness: a live lease, and for kubeadm a CNI (without one the kubelet reports
 * NetworkPluginNotReady). `live` tells a lease exists at all.
 * @returns {Promise<{rec: NodeRec, ready: boolean, live: boolean}[]>}
 */
export async function listNodes(/** @type {import("./etcd.mjs").Etcd} */ db) {
  const [nodes, alive, cni] = await Promise.all([db.list(K.nodes), db.list(K.alives), db.getRaw(K.cni)]);
  const live = new Set(alive.map((a) => a.key.slice(K.alives.length)));
  const recs = nodes.map((n) => /** @type {NodeRec} */ (n.value));
  const cpMinors = recs.filter((r) => r.role === "control-plane").map((r) => minorOf(r.version));
  return recs.map((rec) => {
    const isLive = live.has(rec.name);
    // A kubelet more than one minor away from a control plane is not supported and stays NotReady.
    const skewed = cpMinors.some((m) => Math.abs(m - minorOf(rec.version)) > 1);
    return { rec, live: isLive, ready: isLive && !skewed && (rec.distro !== "kubeadm" || Boolean(cni)) };
  });
}

/** 29 for "v1.29.15". */
export function minorOf(/** @type {string} */ version) {
  return Number(/^v?1\.(\d+)/.exec(version)?.[1] ?? 0);
}

/** A node can run ordinary pods: Ready, not cordoned, no NoSchedule taint the pods do not tolerate. */
export function schedulable(/** @type {{rec: NodeRec, ready: boolean}} */ n, /** @type {any[]} */ tolerations = []) {
  if (!n.ready || n.rec.unschedulable) return false;
  return !n.rec.taints.some(
    (t) =>
      (t.effect === "NoSchedule" || t.effect === "NoExecute") &&
      !tolerations.some((tol) => (tol.operator === "Exists" && !tol.key) || tol.key === t.key),
  );
}

export function capacityFor(/** @type {{rec: NodeRec, ready: boolean}[]} */ nodes, /** @type {any} */ dep) {
  const tol = dep?.spec?.template?.spec?.tolerations ?? [];
  return nodes.some((n) => schedulable(n, tol));
}

/** The Node object kubectl shows. @param {NodeRec} rec @param {boolean} ready @param {boolean} [live] */
export function nodeView(rec, ready, live = ready) {
  const t = new Date().toISOString();
  const cond = (
    /** @type {string} */ type,
    /** @type {string} */ okStatus,
    /** @type {string} */ reason,
    /** @type {string} */ message,
  ) => {
    if (ready || (live && type !== "Ready"))
      return { type, status: okStatus, reason, message, lastHeartbeatTime: t, lastTransitionTime: rec.createdAt };
    if (live) {
      return {
        type,
        status: "False",
        reason: "KubeletNotReady",
        message:
          "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
        lastHeartbeatTime: t,
        lastTransitionTime: rec.createdAt,
      };
    }
    return {
      type,
      status: "Unknown",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
      lastHeartbeatTime: t,
      lastTransitionTime: t,
    };
  };
  const taints = [...rec.taints];
  if (rec.unschedulable && !taints.some((x) => x.key === "node.kubernetes.io/unschedulable")) {
    taints.push({ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule", timeAdded: t });
  }
  if (live && !ready) taints.push({ key: "node.kubernetes.io/not-ready", effect: "NoSchedule", timeAdded: t });
  if (!live) {
    taints.push(
      { key: "node.kubernetes.io/unreachable", effect: "NoSchedule", timeAdded: t },
      { key: "node.kubernetes.io/unreachable", effect: "NoExecute", timeAdded: t },
    );
  }
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: rec.name,
      labels: rec.labels,
      creationTimestamp: rec.createdAt,
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: {
      podCIDR: podCidr(rec.address),
      ...(rec.unschedulable ? { unschedulable: true } : {}),
      ...(taints.length ? { taints } : {}),
    },
    status: {
      addresses: [
        { type: "InternalIP", address: rec.address },
        { type: "Hostname", address: rec.name },
      ],
      conditions: [
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
      ],
      nodeInfo: {
        kubeletVersion: rec.version,
        kubeProxyVersion: rec.version,
        containerRuntimeVersion: "containerd://1.7.27",
        osImage: "Ubuntu 24.04.2 LTS",
        kernelVersion: "6.8.0-60-generic",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

function podCidr(/** @type {string} */ addr) {
  const last = Number(addr.split(".")[3] ?? 0);
  return `10.1.${last}.0/24`;
}

/** Status line for `get nodes`. */
export function nodeStatusWord(/** @type {NodeRec} */ rec, /** @type {boolean} */ ready) {
  return `${ready ? "Ready" : "NotReady"}${rec.unschedulable ? ",SchedulingDisabled" : ""}`;
}

/** kubectl's human-readable age. */
export function age(/** @type {string|number|undefined} */ since) {
  const s = Math.max(0, Math.floor((Date.now() - new Date(since ?? Date.now()).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ""}`;
  return `${d}d`;
}

/** tabwriter-like table (3 spaces between columns). */
export function table(/** @type {string[][]} */ rows) {
  const widths = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join(""))
    .join("\n");
}
