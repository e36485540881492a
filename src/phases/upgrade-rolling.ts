import type { Phase, Plan, Step } from "../core/plan.js";
import type { KubeNode } from "../distros/kubectl.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import {
  controlPlaneVip,
  putBackInService,
  serviceLayoutChanges,
  takeOutOfService,
  type ApiEndpoint,
  type LivezProbe,
  type ServiceLayoutInput,
} from "./out-of-service.js";
import { UPGRADE_LABEL, checkStep, drainStep, uncordonStep, type CheckInput, type Kubectl } from "./upgrade-steps.js";
import { batches, minorNumber, versionPath, workerBatchSize } from "./upgrade-versions.js";

/**
 * The rolling upgrade every distribution shares: the order (outline) and the plan around the
 * distribution's own upgrade steps. Per minor of the path, control planes strictly one at a time: mark +
 * drain, out of service (src/phases/out-of-service.ts: out of every backend, lowest VRRP priority, VIP
 * handed over, API through the VIP), the distribution's steps, check (Ready with the new version, the
 * datastore's members back, API through the VIP), back in service, uncordon. Then the workers in batches.
 */

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

export interface RollingUpgradeInput {
  spec: ClusterSpec;
  /** The minor to reach, e.g. "1.31". */
  target: string;
  /** --batch-size: at most this many workers at once (never more than max(1, 10 %)). */
  batchSize?: number;
  drainSeconds: number;
  /** The load-balancer layout as install renders it (nodes are taken out of it and put back). */
  layout: ServiceLayoutInput;
  /** Where clients reach the API (VIP or external LB); undefined without a load balancer. */
  endpoint?: ApiEndpoint;
  probe: LivezProbe;
}

/** What a distribution contributes to the rolling upgrade. */
export interface UpgradeDriver {
  /** Each node's current minor (nodes whose version cannot be read are left out). */
  minors: Map<string, string>;
  /** The control plane hactl reads the cluster from; the last one when the VIP is not on the control planes. */
  leader: string | undefined;
  /** Kubernetes nodes as the leader sees them (labels show a node a stopped run left out of service). */
  kubeNodes: readonly KubeNode[];
  kubectl: Kubectl;
  /** The control plane that runs kubectl for `node` (never `node` itself when another one exists). */
  runnerFor(node: string): string;
  /** Phases before the passes (e.g. holding refreshes); may be empty. */
  preamble: Phase[];
  /** The node's own upgrade steps for one minor; `first`: the pass's first control plane. */
  upgradeSteps(node: NodeSpec, minor: string, first: boolean): Step[];
  /** Control planes: what the check waits for in the datastore after `node` is upgraded. */
  datastoreCheck(node: NodeSpec): CheckInput["voters"] | undefined;
  checkTimeoutMs: number;
}

/**
 * Pure: the order of the whole upgrade (assumes no refusals). Control planes one at a time; with the VIP on
 * the control planes, in rising VRRP priority, so the node that holds the VIP goes last and the VIP moves
 * only when it must (each move cuts the connections in flight). Between two passes that node keeps the
 * lowest priority, goes first in the next pass and takes the VIP back there: two moves for any number of
 * passes. Without the VIP on the control planes, the leader goes last.
 */
export function outlineRollingUpgrade(
  input: RollingUpgradeInput,
  driver: Pick<UpgradeDriver, "minors" | "leader" | "kubeNodes">,
): UpgradeOutline {
  const { spec, target } = input;
  const minors = driver.minors;
  const path = versionPath([...minors.values()], target);
  const leader = driver.leader ?? spec.spec.nodes.find((n) => n.role === "control-plane")?.name;
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const vrrp = controlPlaneVip(input.layout) !== undefined;
  const workers = spec.spec.nodes.filter((n) => n.role === "worker");
  const size = workerBatchSize(workers.length, input.batchSize);
  const below = (n: NodeSpec, minor: string): boolean => minorNumber(minors.get(n.name) ?? "0.0") < minorNumber(minor);
  let standby: string | undefined;
  const passes = path.map((minor, i) => {
    const todo = cps.filter((n) => below(n, minor));
    // VRRP priorities fall in cluster.yaml's order of the control planes; a standby node has the lowest.
    const priority = (n: NodeSpec): number => (n.name === standby ? -1 : cps.length - cps.indexOf(n));
    const ordered = vrrp
      ? [...todo].sort((a, b) => priority(a) - priority(b))
      : [...todo.filter((n) => n.name !== leader), ...todo.filter((n) => n.name === leader)];
    const last = ordered[ordered.length - 1]?.name;
    standby = vrrp && i < path.length - 1 ? last : undefined;
    return {
      minor,
      controlPlanes: ordered.map((n) => n.name),
      workerBatches: batches(
        workers.filter((n) => below(n, minor)).map((n) => n.name),
        size,
      ),
      ...(standby ? { keepStandby: standby } : {}),
    };
  });
  const first = passes[0];
  const inFirstPass = new Set([...(first?.controlPlanes ?? []), ...(first?.workerBatches.flat() ?? [])]);
  const resumed = driver.kubeNodes
    .filter(
      (k) =>
        k.labels[UPGRADE_LABEL] !== undefined &&
        !inFirstPass.has(k.name) &&
        spec.spec.nodes.some((n) => n.name === k.name),
    )
    .map((k) => k.name);
  return { minors, path, passes, resumed };
}

/**
 * Pure: the rolling upgrade as phases. Nodes already on a pass's minor get no steps, so a re-run resumes;
 * nodes a stopped run left out of service are put back first.
 */
export function planRollingUpgrade(input: RollingUpgradeInput, outline: UpgradeOutline, driver: UpgradeDriver): Plan {
  const { spec, layout, endpoint, probe } = input;
  const kubectl = driver.kubectl;
  const nodeOf = (name: string): NodeSpec => spec.spec.nodes.find((n) => n.name === name) as NodeSpec;
  const leader = driver.leader ?? driver.runnerFor("");
  const apiReachable = endpoint ? { apiReachable: () => probe(endpoint.host, endpoint.port, 3000) } : {};
  const service = { ...(endpoint ? { endpoint } : {}), probe };
  // A pass's last control plane keeps the lowest VRRP priority until its turn in the next pass (outline).
  const none: ReadonlySet<string> = new Set();
  let standby = none;
  const check = (name: string, minor: string, id: string, runner: string, withDatastore: boolean): Step =>
    checkStep({
      id,
      node: name,
      runner,
      minor,
      kubectl,
      timeoutMs: driver.checkTimeoutMs,
      ...(withDatastore ? voters(driver.datastoreCheck(nodeOf(name))) : {}),
      ...(withDatastore ? apiReachable : {}),
    });

  const phases: Phase[] = [...driver.preamble];
  if (outline.resumed.length > 0) {
    for (const name of outline.resumed) {
      const node = nodeOf(name);
      const runner = driver.runnerFor(name);
      const minor = outline.minors.get(name) ?? input.target;
      phases.push({
        title: `Check ${name} (left out of service by a stopped run)`,
        mode: "serial",
        steps: [check(name, minor, `resume-check:${name}`, runner, node.role === "control-plane")],
      });
      phases.push(...putBackInService(layout, node, { ...service, key: "resume" }));
      phases.push({
        title: `Uncordon ${name}`,
        mode: "serial",
        steps: [uncordonStep({ id: `resume-uncordon:${name}`, node: name, runner, kubectl })],
      });
    }
  }

  for (const pass of outline.passes) {
    const { minor } = pass;
    pass.controlPlanes.forEach((name, i) => {
      const node = nodeOf(name);
      const runner = driver.runnerFor(name);
      const lb = serviceLayoutChanges(layout, new Set([name]), standby);
      phases.push({
        title: `Drain control plane ${name} (to ${minor})`,
        mode: "serial",
        steps: [
          drainStep({
            id: `drain:${minor}:${name}`,
            node: name,
            runner,
            minor,
            drainSeconds: input.drainSeconds,
            kubectl,
          }),
        ],
      });
      if (lb) phases.push(...takeOutOfService(layout, node, { ...service, key: minor, standby }));
      phases.push({
        title: `Upgrade control plane ${name} to ${minor}`,
        mode: "serial",
        steps: [
          ...driver.upgradeSteps(node, minor, i === 0),
          check(name, minor, `check:${minor}:${name}`, runner, true),
        ],
      });
      if (pass.keepStandby === name) standby = new Set([name]);
      else if (standby.has(name)) standby = none;
      if (lb) phases.push(...putBackInService(layout, node, { ...service, key: minor, standby }));
      phases.push({
        title: `Uncordon ${name}`,
        mode: "serial",
        steps: [uncordonStep({ id: `uncordon:${minor}:${name}`, node: name, runner, kubectl })],
      });
    });
    pass.workerBatches.forEach((batch, i) => {
      const nodes = batch.map(nodeOf);
      const label = `workers ${batch.join(", ")} to ${minor} (batch ${i + 1} of ${pass.workerBatches.length})`;
      const lb = serviceLayoutChanges(layout, new Set(batch), standby);
      phases.push({
        title: `Drain ${label}`,
        mode: "parallel",
        steps: batch.map((name) =>
          drainStep({
            id: `drain:${minor}:${name}`,
            node: name,
            runner: leader,
            minor,
            drainSeconds: input.drainSeconds,
            kubectl,
          }),
        ),
      });
      if (lb) phases.push(...takeOutOfService(layout, nodes, { key: minor, standby }));
      phases.push({
        title: `Upgrade ${label}`,
        mode: "parallel",
        steps: nodes.flatMap((node) => [
          ...driver.upgradeSteps(node, minor, false),
          check(node.name, minor, `check:${minor}:${node.name}`, leader, false),
        ]),
      });
      if (lb) phases.push(...putBackInService(layout, nodes, { probe, key: minor, standby }));
      phases.push({
        title: `Uncordon ${label}`,
        mode: "parallel",
        steps: batch.map((name) =>
          uncordonStep({ id: `uncordon:${minor}:${name}`, node: name, runner: leader, kubectl }),
        ),
      });
    });
  }
  return phases;
}

function voters(v: CheckInput["voters"]): Pick<CheckInput, "voters"> {
  return v ? { voters: v } : {};
}
