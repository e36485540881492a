import { need } from "../../core/host.js";
import { kubeadm } from "../../distros/kubeadm.js";
import { gatherKubeadmState } from "../../gather/kubeadm-state.js";
import { runs } from "../../core/action.js";
import { actionStep, type Phase } from "../../core/plan.js";
import { deleteNodeObject, removeEtcdMembersAt } from "../../phases/kubeadm/join.js";
import { checkKubeadmRemoval } from "../../phases/kubeadm/remove-safety.js";
import { drainPhases, type RemovalDriver } from "../removal.js";

/**
 * remove-node under kubeadm: refuse when etcd would lose quorum or another control plane is unhealthy;
 * after the shared load-balancer phases: drain, `kubeadm reset -f` on the node, then remove its etcd
 * member and its Node object from a remaining control plane. --force (a dead node) skips what needs it.
 */
export const kubeadmRemoval: RemovalDriver = {
  async check(spec, session, target, reachable) {
    const state = await gatherKubeadmState(
      session.hosts,
      spec.spec.nodes.filter((n) => reachable.has(n.name) && n.name !== target.name),
    );
    return checkKubeadmRemoval(spec, state, target, reachable);
  },
  phases(target, runner, opts, onNode) {
    const phases: Phase[] = [...drainPhases(target, runner, opts, kubeadm.kubectl, ["--force"])];
    if (onNode) {
      phases.push({
        title: `Reset ${target.name}`,
        mode: "serial",
        steps: [
          actionStep({
            id: `reset:${target.name}`,
            node: target.name,
            title: "kubeadm reset -f (removes its own etcd member when it can)",
            actions: [runs(kubeadm.reset())],
          }),
        ],
      });
    }
    phases.push({
      title: `Remove ${target.name} from the cluster`,
      mode: "serial",
      steps: [
        {
          id: `remove:${target.name}`,
          node: runner,
          title: `remove ${target.name}'s etcd member and Node object`,
          describe: [
            ...(target.role === "control-plane"
              ? [`etcdctl member list; member remove <id at ${target.address}>`]
              : []),
            `kubectl delete node ${target.name}`,
          ],
          async run(ctx) {
            const host = need(ctx.hosts, runner);
            const removed =
              target.role === "control-plane" ? await removeEtcdMembersAt(host, target.address, ctx.log) : 0;
            const deleted = await deleteNodeObject(host, target.name, ctx.log);
            return removed > 0 || deleted ? "changed" : "unchanged";
          },
        },
      ],
    });
    return phases;
  },
};
