import type { LbObservation } from "../gather/cluster-status.js";
import type { Microk8sClusterState } from "../gather/microk8s-state.js";
import type { StatusView } from "../distros/driver.js";
import { microk8sStatusView } from "../distros/microk8s/driver.js";
import type { ClusterSpec } from "../spec/schema.js";

export interface NodeStatus {
  name: string;
  address: string;
  role: "control-plane" | "worker";
  reachable: boolean;
  inCluster: boolean;
  ready: boolean;
  schedulable: boolean;
  /** The node's datastore seat in the distribution's own words ("voter", "etcd learner", ...); "-" for none. */
  datastore: string;
  /** The installed Kubernetes version (MicroK8s: the snap's; kubeadm: the kubelet's). */
  version?: string;
  /** MicroK8s: snapd may not refresh the node on its own; undefined where not known. */
  held?: boolean;
}

export interface StatusReport {
  cluster: string;
  distribution: string;
  healthy: boolean;
  highAvailability: boolean;
  nodes: NodeStatus[];
  vip?: { address: string; holders: string[] };
  /** loadBalancer.web.vip and the gateway node(s) holding it. */
  webVip?: { address: string; holders: string[] };
  loadBalancers: LbObservation[];
  /** Unhealthy states and drift from cluster.yaml; any entry makes the cluster unhealthy. */
  problems: string[];
  /** Advice that does not make the cluster unhealthy. */
  notes: string[];
  /** Risks that do not make the cluster unhealthy yet: mixed versions, nodes snapd may upgrade on its own. */
  warnings: string[];
}

export interface StatusInput {
  spec: ClusterSpec;
  unreachable: ReadonlySet<string>;
  state: Microk8sClusterState;
  vipHolders?: string[];
  webVipHolders?: string[];
  loadBalancers: LbObservation[];
  apiPort: number;
}

/** The same observations with any distribution's view of its cluster (its driver's `observeStatus`). */
export interface StatusViewInput extends Omit<StatusInput, "state"> {
  view: StatusView;
}

/** Pure: statusReport of a MicroK8s cluster from its gathered state. */
export function statusReport(input: StatusInput): StatusReport {
  const { state, ...rest } = input;
  return viewStatusReport({ ...rest, view: microk8sStatusView(state) });
}

/** Pure: what the gathered observations say about the cluster, against cluster.yaml. */
export function viewStatusReport(input: StatusViewInput): StatusReport {
  const { spec, view } = input;
  const problems: string[] = [];
  const notes: string[] = [];

  const nodes: NodeStatus[] = spec.spec.nodes.map((n) => {
    const kube = view.kubeNodes.find((k) => k.name === n.name);
    const installed = view.versions.get(n.name);
    const version = installed?.version || kube?.version;
    const s: NodeStatus = {
      name: n.name,
      address: n.address,
      role: n.role,
      reachable: !input.unreachable.has(n.name),
      inCluster: kube !== undefined,
      ready: kube?.ready ?? false,
      schedulable: kube ? !kube.unschedulable : false,
      datastore: view.seats.get(n.address)?.word ?? "-",
      ...(version ? { version } : {}),
      ...(installed?.held !== undefined ? { held: installed.held } : {}),
    };
    if (!s.reachable) problems.push(`${n.name}: not reachable over SSH`);
    if (!s.inCluster)
      problems.push(
        `${n.name}: in cluster.yaml but not in the cluster (run hactl install or hactl add-node ${n.name})`,
      );
    else if (!s.ready) problems.push(`${n.name}: NotReady`);
    if (n.role === "control-plane" && s.inCluster && s.datastore === "-")
      problems.push(`${n.name}: control plane without a datastore seat`);
    return s;
  });
  for (const k of view.kubeNodes) {
    if (!spec.spec.nodes.some((n) => n.name === k.name))
      problems.push(`${k.name}: in the cluster but not in cluster.yaml (drift)`);
  }
  if (!view.leader) problems.push("no reachable control-plane node runs the cluster");

  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane").length;
  const highAvailability = view.highAvailability;
  if (cps >= 3 && !highAvailability) problems.push(`high availability is off (${view.haMissing})`);

  const lb = spec.spec.loadBalancer;
  let vip: StatusReport["vip"];
  if (lb.vip && input.vipHolders) {
    vip = { address: lb.vip, holders: input.vipHolders };
    if (input.vipHolders.length === 0) problems.push(`VIP ${lb.vip} is held by no machine`);
    if (input.vipHolders.length > 1)
      problems.push(`VIP ${lb.vip} is held by ${input.vipHolders.join(" and ")} at once (split brain)`);
  }
  let webVip: StatusReport["webVip"];
  if (lb.web.vip && input.webVipHolders) {
    webVip = { address: lb.web.vip, holders: input.webVipHolders };
    const strangers = input.webVipHolders.filter(
      (h) => !spec.spec.nodes.some((n) => n.name === h && n.gateway === true),
    );
    if (input.webVipHolders.length === 0) problems.push(`web VIP ${lb.web.vip} is held by no gateway node`);
    if (input.webVipHolders.length > 1)
      problems.push(`web VIP ${lb.web.vip} is held by ${input.webVipHolders.join(" and ")} at once (split brain)`);
    if (strangers.length)
      problems.push(
        `web VIP ${lb.web.vip} is held by ${strangers.join(", ")}, not a gateway node (drift; run hactl install)`,
      );
  }
  const expectedApi = new Set(
    spec.spec.nodes.filter((n) => n.role === "control-plane").map((n) => `${n.address}:${input.apiPort}`),
  );
  // a gateway node that is a worker balances only the web ports
  const webOnly = new Set(
    lb.mode === "keepalived-haproxy" && lb.web.vip
      ? spec.spec.nodes.filter((n) => n.gateway === true && n.role !== "control-plane").map((n) => n.name)
      : [],
  );
  for (const o of input.loadBalancers) {
    if (!o.active) problems.push(`${o.machine}: ${o.service} is not running`);
    for (const b of o.backends) if (!b.up) problems.push(`${o.machine}: backend ${b.endpoint} does not answer`);
    if (webOnly.has(o.machine)) continue;
    const api = new Set(o.backends.map((b) => b.endpoint).filter((e) => e.endsWith(`:${input.apiPort}`)));
    const missing = [...expectedApi].filter((e) => !api.has(e));
    const extra = [...api].filter((e) => !expectedApi.has(e));
    if (missing.length)
      problems.push(`${o.machine}: ${o.service} lacks API backends ${missing.join(", ")} (drift; run hactl install)`);
    if (extra.length)
      problems.push(
        `${o.machine}: ${o.service} still sends API traffic to ${extra.join(", ")} (drift; run hactl install)`,
      );
  }
  if (!spec.spec.autoscaling.enabled && !spec.spec.linkerd.enabled) {
    notes.push("replicas are static and Linkerd is off: HA of the application needs Linkerd (hactl linkerd enable)");
  }
  problems.push(...view.problems);
  const warnings = versionWarnings(nodes, view);
  return {
    cluster: spec.metadata.name,
    distribution: `${spec.spec.distribution.type} ${spec.spec.distribution.version}`,
    healthy: problems.length === 0,
    highAvailability,
    nodes,
    ...(vip ? { vip } : {}),
    ...(webVip ? { webVip } : {}),
    loadBalancers: input.loadBalancers,
    problems,
    notes,
    warnings,
  };
}

/** Mixed Kubernetes minors (an upgrade stopped half-way, or snapd upgraded a node) and unheld nodes. */
function versionWarnings(nodes: readonly NodeStatus[], view: StatusView): string[] {
  const warnings: string[] = [];
  const minorOf = (n: NodeStatus): string | undefined => {
    const installed = view.versions.get(n.name);
    return installed ? installed.minor : /^v?(1\.\d+)\./.exec(n.version ?? "")?.[1];
  };
  const byMinor = new Map<string, string[]>();
  for (const n of nodes) {
    const m = minorOf(n);
    if (m) byMinor.set(m, [...(byMinor.get(m) ?? []), n.name]);
  }
  if (byMinor.size > 1) {
    const parts = [...byMinor]
      .sort(([a], [b]) => minorNumber(a) - minorNumber(b))
      .map(([m, names]) => `${m} on ${names.join(", ")}`);
    warnings.push(`mixed Kubernetes versions: ${parts.join("; ")} (finish with hactl upgrade)`);
  }
  const unheld = nodes.filter((n) => n.held === false).map((n) => n.name);
  if (unheld.length)
    warnings.push(
      `MicroK8s refreshes are not held on ${unheld.join(", ")}: snapd may upgrade them on its own (hactl install holds them)`,
    );
  return warnings;
}

const minorNumber = (minor: string): number => Number(minor.split(".")[1] ?? 0);

export function formatStatus(r: StatusReport): string {
  const lines = [
    `Cluster ${r.cluster} (${r.distribution}): ${r.healthy ? "healthy" : "UNHEALTHY"}, high availability ${r.highAvailability ? "on" : "off"}`,
    "",
  ];
  lines.push(
    `  ${"NODE".padEnd(12)} ${"ADDRESS".padEnd(15)} ${"ROLE".padEnd(14)} ${"STATUS".padEnd(26)} ${"VERSION".padEnd(18)} DATASTORE`,
  );
  for (const n of r.nodes) {
    const state =
      !n.reachable && !n.inCluster
        ? "unreachable"
        : !n.inCluster
          ? "not joined"
          : `${n.ready ? "Ready" : "NotReady"}${n.schedulable ? "" : ",SchedulingDisabled"}${n.reachable ? "" : ",ssh-unreachable"}`;
    const version = `${n.version ?? "-"}${n.held === undefined ? "" : n.held ? " held" : " NOT held"}`;
    lines.push(
      `  ${n.name.padEnd(12)} ${n.address.padEnd(15)} ${n.role.padEnd(14)} ${state.padEnd(26)} ${version.padEnd(18)} ${n.datastore}`,
    );
  }
  if (r.vip)
    lines.push(
      "",
      `  VIP ${r.vip.address}: ${r.vip.holders.length ? `held by ${r.vip.holders.join(", ")}` : "not held"}`,
    );
  if (r.webVip)
    lines.push(
      ...(r.vip ? [] : [""]),
      `  web VIP ${r.webVip.address}: ${r.webVip.holders.length ? `held by ${r.webVip.holders.join(", ")}` : "not held"}`,
    );
  for (const o of r.loadBalancers) {
    lines.push(
      `  ${o.machine} ${o.service} ${o.active ? "running" : "STOPPED"}: ${o.backends.map((b) => `${b.endpoint} ${b.up ? "up" : "DOWN"}`).join(", ")}`,
    );
  }
  if (r.problems.length) lines.push("", "Problems:", ...r.problems.map((p) => `  - ${p}`));
  if (r.warnings.length) lines.push("", "Warnings:", ...r.warnings.map((p) => `  - ${p}`));
  if (r.notes.length) lines.push("", "Notes:", ...r.notes.map((p) => `  - ${p}`));
  return lines.join("\n");
}
