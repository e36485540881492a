import type { Microk8sClusterState } from "../gather/microk8s-state.js";
import { datastoreIp } from "../distros/microk8s.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";

export interface RemovalCheck {
  /** Reasons to refuse, each with numbers and what to do instead. */
  refusals: string[];
  /** The control-plane node that runs the removal (never the departing one). */
  runner: string | undefined;
}

/**
 * Pure: may `target` leave without breaking the cluster? Refuses when it is the last control plane,
 * when another control-plane member is already unhealthy, or when an HA datastore would be left with
 * fewer than 3 voters (or without quorum).
 */
export function checkRemoval(
  spec: ClusterSpec,
  state: Microk8sClusterState,
  target: NodeSpec,
  reachable: ReadonlySet<string>,
): RemovalCheck {
  const refusals: string[] = [];
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const others = cps.filter((n) => n.name !== target.name);
  const healthy = (n: NodeSpec): boolean =>
    reachable.has(n.name) && (state.kubeNodes.find((k) => k.name === n.name)?.ready ?? false);
  const runner = others.find(healthy)?.name;

  if (target.role === "control-plane" && others.length === 0) {
    refusals.push(
      `${target.name} is the last control-plane node; removing it would destroy the cluster. Add another control-plane node first (hactl add-node NAME --address IP).`,
    );
  }
  const unhealthy = others.filter((n) => !healthy(n));
  if (unhealthy.length > 0) {
    refusals.push(
      `${unhealthy.map((n) => n.name).join(", ")} ${unhealthy.length === 1 ? "is" : "are"} already unhealthy (unreachable or NotReady); removing ${target.name} now could lose the datastore's quorum. Bring ${unhealthy.length === 1 ? "it" : "them"} back first (hactl status), or remove ${unhealthy.length === 1 ? "it" : "them"} with --force first.`,
    );
  }
  if (target.role === "control-plane") {
    const leaderStatus = state.leader ? state.status.get(state.leader) : undefined;
    const members = leaderStatus?.datastore ?? [];
    const voters = members.filter((m) => m.role === "voter").length;
    const remaining = members.filter((m) => datastoreIp(m.address) !== target.address).length;
    if (voters >= 3 && remaining < 3) {
      refusals.push(
        `the datastore has ${voters} voters and ${members.length} members; without ${target.name} only ${remaining} would remain, so the cluster would lose high availability (it needs 3 voters). Add a control-plane node first (hactl add-node NAME --address IP), then remove ${target.name}.`,
      );
    }
    const remainingVoters = members.filter(
      (m) => m.role !== "spare" && datastoreIp(m.address) !== target.address,
    ).length;
    if (voters > 0 && remainingVoters < Math.floor(voters / 2) + 1) {
      refusals.push(
        `removing ${target.name} would leave ${remainingVoters} of ${voters} voters, below the quorum of ${Math.floor(voters / 2) + 1}.`,
      );
    }
  }
  if (!runner) refusals.push(`no other healthy control-plane node can run the removal of ${target.name}.`);
  return { refusals, runner };
}
