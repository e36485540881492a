import { memberAddress } from "../../distros/kubeadm.js";
import type { KubeadmClusterState } from "../../gather/kubeadm-state.js";
import type { ClusterSpec, NodeSpec } from "../../spec/schema.js";
import type { RemovalCheck } from "../remove-safety.js";

export interface KubeadmRemovalCheck extends RemovalCheck {
  /** Advice that does not block the removal (e.g. etcd left without failure tolerance). */
  warnings: string[];
}

const quorum = (n: number): number => Math.floor(n / 2) + 1;

/**
 * Pure: may `target` leave a stacked-etcd cluster? Refuses when it is the last control plane, when another
 * control plane is unreachable or NotReady, when etcd cannot be read or has a member that is not a
 * started voter (other than the target's), or when the voters left would be fewer than today's quorum.
 */
export function checkKubeadmRemoval(
  spec: ClusterSpec,
  state: KubeadmClusterState,
  target: NodeSpec,
  reachable: ReadonlySet<string>,
): KubeadmRemovalCheck {
  const refusals: string[] = [];
  const warnings: string[] = [];
  const cps = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const others = cps.filter((n) => n.name !== target.name);
  const healthy = (n: NodeSpec): boolean =>
    reachable.has(n.name) && (state.kubeNodes.find((k) => k.name === n.name)?.ready ?? false);
  const runner = others.find((n) => healthy(n) && state.admins.has(n.name))?.name;

  if (target.role === "control-plane" && others.length === 0) {
    refusals.push(
      `${target.name} is the last control-plane node; removing it would destroy the cluster. Add another control-plane node first (hactl add-node NAME --address IP --role control-plane).`,
    );
  }
  const unhealthy = others.filter((n) => !healthy(n));
  if (unhealthy.length > 0) {
    const they = unhealthy.length === 1 ? "it" : "them";
    refusals.push(
      `${unhealthy.map((n) => n.name).join(", ")} ${unhealthy.length === 1 ? "is" : "are"} already unhealthy (unreachable or NotReady); removing ${target.name} now could lose etcd's quorum. Bring ${they} back first (hactl status), or remove ${they} with --force first.`,
    );
  }
  if (target.role === "control-plane") {
    if (!state.etcdReadable) {
      refusals.push(
        `etcd's member list could not be read from a healthy control plane, so its quorum cannot be checked. Check etcd on ${runner ?? "the control planes"} (etcdctl endpoint health), then run again.`,
      );
    } else {
      const rest = state.members.filter((m) => memberAddress(m) !== target.address);
      const bad = rest.filter((m) => m.learner || m.status !== "started");
      if (bad.length > 0) {
        refusals.push(
          `etcd has ${bad.length} member(s) that are not started voters (${bad.map((m) => `${m.id}${m.name ? ` ${m.name}` : ""}${m.learner ? " learner" : ` ${m.status}`}`).join(", ")}); fix or remove ${bad.length === 1 ? "it" : "them"} before removing another member.`,
        );
      }
      const voters = state.members.filter((m) => !m.learner).length;
      const remaining = rest.filter((m) => !m.learner).length;
      if (voters > 0 && remaining < quorum(voters)) {
        refusals.push(
          `removing ${target.name} would leave ${remaining} of ${voters} etcd voters, below today's quorum of ${quorum(voters)}.`,
        );
      } else if (remaining > 0 && remaining < 3) {
        warnings.push(
          `etcd will have ${remaining} member(s) and tolerate no member failure; add a control-plane node soon (hactl add-node NAME --address IP --role control-plane).`,
        );
      }
    }
  }
  if (!runner)
    refusals.push(
      `no other healthy control-plane node with /etc/kubernetes/admin.conf can run the removal of ${target.name}.`,
    );
  return { refusals, runner, warnings };
}
