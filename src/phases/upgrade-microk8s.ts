import type { Phase, Plan, Step } from "../core/plan.js";
import type { RemoteHost } from "../core/host.js";
import { microk8s, parseStatus, snapMinor } from "../distros/microk8s.js";
import { isMember, type Microk8sClusterState } from "../gather/microk8s-state.js";
import type { RenderedConfig } from "../lb/render.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import { holdStep } from "./install-microk8s.js";
import { need } from "./prepare-hosts.js";
import { UPGRADE_LABEL, checkStep, drainStep, lbSwitchStep, uncordonStep } from "./upgrade-steps.js";
import { batches, minorNumber, versionPath, workerBatchSize } from "./upgrade-versions.js";

/** How long a refreshed node may take to be Ready with its new version and back in the datastore. */
const CHECK_TIMEOUT_MS = 5 * 60_000;

export interface UpgradeLbInput {
  /** Every LB machine's configs with all nodes in service (what install renders). */
  normal: ReadonlyMap<string, readonly RenderedConfig[]>;
  /**
   * Pure: every LB machine's configs with these nodes out of every backend and off the VIP, and the
   * `standby` control planes in every backend but at the lowest VRRP priority.
   */
  without(nodes: ReadonlySet<string>, standby?: ReadonlySet<string>): ReadonlyMap<string, readonly RenderedConfig[]>;
  /** The VIP the control planes share (keepalived-haproxy mode); undefined otherwise. */
  controlPlaneVip?: string;
}

export interface Microk8sUpgradeInput {
  spec: ClusterSpec;
  state: Microk8sClusterState;
  /** The minor to reach, e.g. "1.31". */
  target: string;
  /** --batch-size: at most this many workers at once (never more than max(1, 10 %)). */
  batchSize?: number;
  drainSeconds: number;
  lb: UpgradeLbInput;
  /** Asks the API through the VIP (or the single LB); undefined without a load balancer. */
  apiReachable?: () => Promise<boolean>;
}

/** What the run will do, for the dry run and the summary. */
export interface UpgradeOutline {
  /** Each node's current minor. */
  minors: Map<string, string>;
  /** The minors to go through, one rolling pass each. */
  path: string[];
  /**
   * Per pass: the control planes one at a time, then the worker batches. `keepStandby`: the pass's last
   * control plane keeps the lowest VRRP priority until its turn in the next pass.
   */
  passes: { minor: string; controlPlanes: string[]; workerBatches: string[][]; keepStandby?: string }[];
  /** Nodes a stopped run left out of service, put back first. */
  resumed: string[];
}

/**
 * Pure: why this upgrade must not start (each reason with its fix); empty when it may. Checked before
 * anything changes: MicroK8s on every node, a healthy cluster (every node Ready, every control plane in the
 * datastore, enough voters), no downgrade, versions mixed by at most one minor.
 */
export function microk8sUpgradeRefusals(input: Microk8sUpgradeInput): string[] {
  const { spec, state, target } = input;
  const refusals: string[] = [];
  const minors = currentMinors(input);
  for (const n of spec.spec.nodes) {
    if (!state.installed.has(n.name)) refusals.push(`${n.name} has no MicroK8s: run hactl install first.`);
    else if (!minors.has(n.name)) refusals.push(`${n.name}: the MicroK8s version cannot be read from 'snap list microk8s'.`);
  }
  if (!state.leader) refusals.push("no control plane runs MicroK8s: run hactl install first.");
  for (const n of spec.spec.nodes) {
    if (!state.installed.has(n.name) || !state.leader) continue;
    const kube = state.kubeNodes.find((k) => k.name === n.name);
    if (!kube) refusals.push(`${n.name} is not in the cluster: run hactl install (or hactl add-node ${n.name}) first.`);
    else if (!kube.ready) refusals.push(`${n.name} is NotReady: an upgrade needs a healthy cluster (hactl status shows why).`);
    else if (n.role === "control-plane" && !isMember(state, n)) refusals.push(`${n.name} is a control plane without a datastore seat: run hactl install first.`);
  }
  const leaderStatus = state.leader ? state.status.get(state.leader) : undefined;
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane").length;
  const voters = leaderStatus?.datastore.filter((m) => m.role === "voter").length ?? 0;
  if (state.leader && voters < Math.min(3, cps)) refusals.push(`the datastore has ${voters} voters, ${Math.min(3, cps)} expected: an upgrade takes one away at a time (hactl status).`);

  const values = [...minors.values()];
  if (values.length > 0) {
    const highest = values.reduce((a, b) => (minorNumber(b) > minorNumber(a) ? b : a));
    const lowest = values.reduce((a, b) => (minorNumber(b) < minorNumber(a) ? b : a));
    if (minorNumber(target) < minorNumber(highest)) {
      const on = [...minors].filter(([, m]) => m === highest).map(([n]) => n);
      refusals.push(`${target} is lower than ${highest} on ${on.join(", ")}: MicroK8s cannot be downgraded by changing channels (it breaks the datastore). Give --to ${highest} or higher.`);
    }
    if (minorNumber(highest) - minorNumber(lowest) > 1) {
      refusals.push(`the nodes run ${lowest} to ${highest}, more than one minor apart: bring the ${lowest} nodes to ${`1.${minorNumber(highest) - 1}`} by hand (snap refresh microk8s --channel=1.${minorNumber(highest) - 1}/stable, one at a time), then run hactl upgrade.`);
    }
  }
  return refusals;
}

/** Each installed node's minor, from its snap's tracking channel or version. */
export function currentMinors(input: Pick<Microk8sUpgradeInput, "spec" | "state">): Map<string, string> {
  const minors = new Map<string, string>();
  for (const n of input.spec.spec.nodes) {
    const snap = input.state.snaps.get(n.name);
    const minor = snap ? snapMinor(snap) : undefined;
    if (minor) minors.set(n.name, minor);
  }
  return minors;
}

/** The control plane that runs kubectl for `node`: the first other control plane with MicroK8s. */
function runnerFor(spec: ClusterSpec, state: Microk8sClusterState, node: string): string {
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane" && state.installed.has(n.name));
  return (cps.find((n) => n.name !== node) ?? cps[0] ?? { name: node }).name;
}

/**
 * Pure: the order of the whole upgrade (assumes no refusals). Control planes one at a time; with the VIP on
 * the control planes, in rising VRRP priority, so the node that holds the VIP goes last and the VIP moves
 * only when it must (each move cuts the connections in flight). Between two passes that node keeps the
 * lowest priority, goes first in the next pass and takes the VIP back there: two moves for any number of
 * passes. Without the VIP on the control planes, the leader goes last.
 */
export function outlineMicrok8sUpgrade(input: Microk8sUpgradeInput): UpgradeOutline {
  const { spec, state, target } = input;
  const minors = currentMinors(input);
  const path = versionPath([...minors.values()], target);
  const leader = state.leader ?? spec.spec.nodes.find((n) => n.role === "control-plane")?.name;
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const vrrp = input.lb.controlPlaneVip !== undefined;
  const workers = spec.spec.nodes.filter((n) => n.role === "worker");
  const size = workerBatchSize(workers.length, input.batchSize);
  const below = (n: NodeSpec, minor: string): boolean => minorNumber(minors.get(n.name) ?? "0.0") < minorNumber(minor);
  let standby: string | undefined;
  const passes = path.map((minor, i) => {
    const todo = cps.filter((n) => below(n, minor));
    // VRRP priorities fall in cluster.yaml's order of the control planes; a standby node has the lowest.
    const priority = (n: NodeSpec): number => (n.name === standby ? -1 : cps.length - cps.indexOf(n));
    const ordered = vrrp ? [...todo].sort((a, b) => priority(a) - priority(b)) : [...todo.filter((n) => n.name !== leader), ...todo.filter((n) => n.name === leader)];
    const last = ordered[ordered.length - 1]?.name;
    standby = vrrp && i < path.length - 1 ? last : undefined;
    return {
      minor,
      controlPlanes: ordered.map((n) => n.name),
      workerBatches: batches(workers.filter((n) => below(n, minor)).map((n) => n.name), size),
      ...(standby ? { keepStandby: standby } : {}),
    };
  });
  const first = passes[0];
  const inFirstPass = new Set([...(first?.controlPlanes ?? []), ...(first?.workerBatches.flat() ?? [])]);
  const resumed = state.kubeNodes.filter((k) => k.labels[UPGRADE_LABEL] !== undefined && !inFirstPass.has(k.name) && spec.spec.nodes.some((n) => n.name === k.name)).map((k) => k.name);
  return { minors, path, passes, resumed };
}

const voterCount = async (host: RemoteHost): Promise<number> => {
  const res = await host.exec(microk8s.statusYaml());
  return parseStatus(res.stdout).datastore.filter((m) => m.role === "voter").length;
};

/**
 * Pure: the MicroK8s rolling upgrade as phases. Per minor of the path, control planes strictly one at a
 * time in the outline's order: mark + drain, out of every load balancer and off the VIP, `snap refresh
 * --channel=<minor>/stable` + wait-ready, check (Ready with the new version, voters back, API through the
 * VIP), back into the load balancers, uncordon. Then the workers in batches. Nodes already on a pass's
 * minor get no steps, so a re-run resumes; nodes a stopped run left out of service are put back first.
 */
export function planMicrok8sUpgrade(input: Microk8sUpgradeInput, outline = outlineMicrok8sUpgrade(input)): Plan {
  const { spec, state } = input;
  const kubectl = microk8s.kubectl;
  const leaderStatus = state.leader ? state.status.get(state.leader) : undefined;
  const expectedVoters = leaderStatus?.datastore.filter((m) => m.role === "voter").length ?? 0;
  const vipMembers = new Set(input.lb.controlPlaneVip ? spec.spec.nodes.filter((n) => n.role === "control-plane").map((n) => n.name) : []);
  const leader = state.leader ?? runnerFor(spec, state, "");
  // A pass's last control plane keeps the lowest VRRP priority until its turn in the next pass (outline).
  const none = new Set<string>();
  let standby: ReadonlySet<string> = none;
  const lbChanges = (names: ReadonlySet<string>): boolean => {
    const before = input.lb.without(none, standby);
    const during = input.lb.without(names, standby);
    return [...before].some(([machine, files]) => JSON.stringify(during.get(machine)) !== JSON.stringify(files));
  };
  const machines = [...input.lb.normal.keys()].join(", ");
  const lbOut = (id: string, node: string, names: ReadonlySet<string>): Step =>
    lbSwitchStep({
      id,
      node,
      title: `out of the load balancers${vipMembers.has(node) ? ", VIP moved away" : ""}`,
      describe: [
        `on ${machines}: configs without ${[...names].join(", ")} in any backend${vipMembers.has(node) ? ` and ${node} at the lowest VRRP priority` : ""}: validate, install with backup, reload`,
        ...(vipMembers.has(node) ? [`wait until ${node} no longer holds the VIP ${input.lb.controlPlaneVip ?? ""}`] : []),
        ...(input.apiReachable ? ["the API answers through the VIP"] : []),
      ],
      files: input.lb.without(names, standby),
      ...(vipMembers.has(node) && input.lb.controlPlaneVip ? { vipAwayFrom: input.lb.controlPlaneVip } : {}),
      ...(input.apiReachable ? { apiReachable: input.apiReachable } : {}),
    });
  const lbIn = (id: string, node: string): Step =>
    lbSwitchStep({
      id,
      node,
      title: "back into the load balancers",
      describe: [
        standby.size === 0
          ? `on ${machines}: the normal configs (every node in its backends, VRRP priorities restored): validate, install with backup, reload`
          : `on ${machines}: every node in its backends, ${[...standby].join(", ")} kept at the lowest VRRP priority until its turn in the next pass (the VIP stays where it is): validate, install with backup, reload`,
      ],
      files: standby.size === 0 ? input.lb.normal : input.lb.without(none, standby),
    });

  const phases: Phase[] = [];
  const unheld = spec.spec.nodes.filter((n) => state.installed.has(n.name) && !state.snaps.get(n.name)?.held);
  phases.push({ title: "Hold MicroK8s refreshes", mode: "parallel", steps: unheld.map((n) => holdStep(n, true)) });

  if (outline.resumed.length > 0) {
    const steps: Step[] = [];
    for (const name of outline.resumed) {
      const runner = runnerFor(spec, state, name);
      const minor = outline.minors.get(name) ?? input.target;
      steps.push(checkStep({ id: `resume-check:${name}`, node: name, runner, minor, kubectl, timeoutMs: CHECK_TIMEOUT_MS, ...(input.apiReachable ? { apiReachable: input.apiReachable } : {}) }));
      steps.push(lbIn(`resume-lb-in:${name}`, name));
      steps.push(uncordonStep({ id: `resume-uncordon:${name}`, node: name, runner, kubectl }));
    }
    phases.push({ title: `Put back ${outline.resumed.join(", ")} (left out of service by a stopped run)`, mode: "serial", steps });
  }

  for (const pass of outline.passes) {
    const { minor } = pass;
    for (const name of pass.controlPlanes) {
      const runner = runnerFor(spec, state, name);
      const only = new Set([name]);
      const steps: Step[] = [drainStep({ id: `drain:${minor}:${name}`, node: name, runner, minor, drainSeconds: input.drainSeconds, kubectl })];
      const lb = lbChanges(only);
      if (lb) steps.push(lbOut(`lb-out:${minor}:${name}`, name, only));
      steps.push(refreshStep(`refresh:${minor}:${name}`, name, minor));
      steps.push(
        checkStep({
          id: `check:${minor}:${name}`,
          node: name,
          runner,
          minor,
          kubectl,
          timeoutMs: CHECK_TIMEOUT_MS,
          ...(isVoter(input, name) ? { voters: { expected: expectedVoters, count: voterCount } } : {}),
          ...(input.apiReachable ? { apiReachable: input.apiReachable } : {}),
        }),
      );
      if (pass.keepStandby === name) standby = new Set([name]);
      else if (standby.has(name)) standby = none;
      if (lb) steps.push(lbIn(`lb-in:${minor}:${name}`, name));
      steps.push(uncordonStep({ id: `uncordon:${minor}:${name}`, node: name, runner, kubectl }));
      phases.push({ title: `Upgrade control plane ${name} to ${minor}`, mode: "serial", steps });
    }
    pass.workerBatches.forEach((batch, i) => {
      const names = new Set(batch);
      const label = `workers ${batch.join(", ")} to ${minor} (batch ${i + 1} of ${pass.workerBatches.length})`;
      const lb = lbChanges(names);
      const batchId = `${minor}:${batch[0] ?? ""}`;
      phases.push({
        title: `Take ${label} out of service`,
        mode: "parallel",
        steps: [
          ...batch.map((name) => drainStep({ id: `drain:${minor}:${name}`, node: name, runner: leader, minor, drainSeconds: input.drainSeconds, kubectl })),
          ...(lb ? [lbOut(`lb-out:${batchId}`, batch[0] ?? "", names)] : []),
        ],
      });
      phases.push({
        title: `Upgrade ${label}`,
        mode: "parallel",
        steps: batch.flatMap((name) => [
          refreshStep(`refresh:${minor}:${name}`, name, minor),
          checkStep({ id: `check:${minor}:${name}`, node: name, runner: leader, minor, kubectl, timeoutMs: CHECK_TIMEOUT_MS }),
        ]),
      });
      phases.push({
        title: `Put ${label} back`,
        mode: "parallel",
        steps: [...(lb ? [lbIn(`lb-in:${batchId}`, batch[0] ?? "")] : []), ...batch.map((name) => uncordonStep({ id: `uncordon:${minor}:${name}`, node: name, runner: leader, kubectl }))],
      });
    });
  }
  return phases;
}

function isVoter(input: Microk8sUpgradeInput, name: string): boolean {
  const node = input.spec.spec.nodes.find((n) => n.name === name);
  const leaderStatus = input.state.leader ? input.state.status.get(input.state.leader) : undefined;
  return node !== undefined && (leaderStatus?.datastore.some((m) => m.role === "voter" && m.address.startsWith(`${node.address}:`)) ?? false);
}

/** `snap refresh microk8s --channel=<minor>/stable`, then `microk8s status --wait-ready`. */
function refreshStep(id: string, node: string, minor: string): Step {
  return {
    id,
    node,
    title: `snap refresh to ${minor}/stable`,
    describe: [`snap refresh microk8s --channel=${minor}/stable`, "microk8s status --wait-ready"],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      await host.run(microk8s.refresh(minor), { signal: ctx.signal });
      await host.run(microk8s.waitReady(300), { signal: ctx.signal });
      return "changed";
    },
  };
}
