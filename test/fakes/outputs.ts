/**
 * Realistic command outputs in the shapes MicroK8s and kubectl print (see
 * /work/shared/reference/cli-contracts.md §1.2, §1.6 and §5), built from small descriptions.
 */

export interface DatastoreMember {
  ip: string;
  role: "voter" | "standby" | "spare";
}

/** `microk8s status --format yaml` of a running node (Python prints booleans as True/False). */
export function statusYaml(
  opts: { members?: DatastoreMember[]; addons?: Record<string, "enabled" | "disabled"> } = {},
): string {
  const members = opts.members ?? [{ ip: "127.0.0.1", role: "voter" }];
  const voters = members.filter((m) => m.role === "voter").length;
  const lines = [
    "microk8s:",
    "  running: True",
    "high-availability:",
    `  enabled: ${voters > 2 ? "True" : "False"}`,
    "  nodes:",
  ];
  for (const m of members) lines.push(`    - address: ${m.ip}:19001`, `      role: ${m.role}`);
  lines.push("addons:");
  for (const [name, status] of Object.entries(
    opts.addons ?? { dns: "enabled", "ha-cluster": "enabled", "metrics-server": "disabled" },
  )) {
    lines.push(
      `  - name: ${name}`,
      "    repository: core",
      `    description: ${name} addon`,
      "    version: 1.0.0",
      `    status: ${status}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** `microk8s status --format yaml` while MicroK8s is not running (exit 1, no addons block). */
export const STATUS_NOT_RUNNING = [
  "microk8s:",
  "  running: False",
  "high-availability:",
  "  enabled: False",
  "  nodes:",
  "    - address: 10.0.0.11:19001",
  "      role: voter",
  "  message: microk8s is not running. Use microk8s inspect for a deeper inspection.",
  "",
].join("\n");

/** What `microk8s status` prints on a node that joined with --worker (exit 0). */
export const STATUS_WORKER =
  "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.\n";

export interface NodeDescription {
  name: string;
  ip?: string;
  ready?: "True" | "False" | "Unknown";
  unschedulable?: boolean;
  worker?: boolean;
  /** kubelet version, default v1.29.15 */
  version?: string;
}

/** `kubectl get nodes -o json` with the fields kubectl really prints. */
export function nodesJson(nodes: NodeDescription[]): string {
  const items = nodes.map((n) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      labels: {
        "kubernetes.io/hostname": n.name,
        "kubernetes.io/os": "linux",
        "microk8s.io/cluster": "true",
        ...(n.worker
          ? { "node.kubernetes.io/microk8s-worker": "microk8s-worker" }
          : { "node.kubernetes.io/microk8s-controlplane": "microk8s-controlplane" }),
      },
    },
    spec: {
      podCIDR: "10.1.0.0/24",
      ...(n.unschedulable
        ? { unschedulable: true, taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }
        : {}),
    },
    status: {
      addresses: [...(n.ip ? [{ type: "InternalIP", address: n.ip }] : []), { type: "Hostname", address: n.name }],
      conditions: [
        {
          type: "MemoryPressure",
          status: n.ready === "Unknown" ? "Unknown" : "False",
          reason: "KubeletHasSufficientMemory",
        },
        {
          type: "DiskPressure",
          status: n.ready === "Unknown" ? "Unknown" : "False",
          reason: "KubeletHasNoDiskPressure",
        },
        {
          type: "Ready",
          status: n.ready ?? "True",
          reason:
            n.ready === "False" ? "KubeletNotReady" : n.ready === "Unknown" ? "NodeStatusUnknown" : "KubeletReady",
          message: n.ready === "Unknown" ? "Kubelet stopped posting node status." : "kubelet is posting ready status",
        },
      ],
      nodeInfo: { kubeletVersion: n.version ?? "v1.29.15", containerRuntimeVersion: "containerd://1.6.28" },
    },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items, metadata: { resourceVersion: "" } }, null, 4);
}

/** `microk8s add-node --format json`: the default-route IP first, then every other address. */
export function addNodeJson(token: string, ips: string[]): string {
  return JSON.stringify({ token, urls: ips.map((ip) => `${ip}:25000/${token}`) }, null, 2);
}
