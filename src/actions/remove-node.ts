import { need } from "../core/host.js";
import type { RunContext } from "../core/context.js";
import type { Command } from "../core/command.js";
import { HactlError } from "../core/errors.js";
import { forEachNode } from "../core/parallel.js";
import { runs } from "../core/action.js";
import { actionStep, type Phase } from "../core/plan.js";
import { microk8s } from "../distros/microk8s.js";
import { byDistribution, driverFor } from "../distros/registry.js";
import { gatherFacts } from "../gather/facts.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import type { RenderedConfig } from "../lb/render.js";
import { templateSource } from "../lb/template-source.js";
import { lbLayout } from "../phases/lb-configs.js";
import { lbStep } from "../phases/activate-config.js";
import { checkRemoval } from "../phases/remove-safety.js";
import { unmountSharedMounts } from "../phases/shared-mounts-undo.js";
import { removeNode } from "../spec/edit.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec, NodeSpec } from "../spec/schema.js";
import { parseEdited } from "./add-node.js";
import { drainPhases, type RemovalDriver, type RemoveNodeOptions } from "./removal.js";
import { runChange } from "./runner.js";
import { machinesOf, type Session } from "./session.js";

/**
 * `hactl remove-node`: refuse unsafe removals with the numbers; otherwise take the node out of every
 * load balancer first (so no traffic goes to it), stop its own keepalived (handing the VIP over), then
 * the distribution's drain/leave/remove; --force skips what needs the dead node.
 */
export async function runRemoveNode(opts: RemoveNodeOptions, ctx: RunContext): Promise<number> {
  const loaded = await loadSpecFile(opts.file);
  const distribution = driverFor(loaded.spec);
  const driver = await byDistribution(loaded.spec, {
    microk8s: async () => microk8sRemoval,
    kubeadm: async () => (await import("./kubeadm/remove-node.js")).kubeadmRemoval,
  })();
  const target = loaded.spec.spec.nodes.find((n) => n.name === opts.name);
  if (!target)
    throw new HactlError("USAGE", `node ${opts.name} is not in ${opts.file}`, {
      remedy: "Check the name with `hactl status`.",
    });
  const text = removeNode(loaded.text, opts.name);
  const after = parseEdited(text, opts.file);
  await runChange(
    {
      command: "remove-node",
      spec: loaded.spec,
      dryRun: opts.dryRun,
      tolerateUnreachable: true,
      lockOn: (session) => lockHolder(after, session, target),
      gather: async (session) => {
        const unreachable = session.unreachable.map((e) => e.node);
        const others = unreachable.filter((n) => n !== target.name);
        if (unreachable.includes(target.name) && !opts.force) {
          throw new HactlError("SSH_UNREACHABLE", `${target.name} is not reachable`, {
            node: target.name,
            remedy: `If it is dead for good, run hactl remove-node ${target.name} --force.`,
          });
        }
        const reachable = new Set(session.hosts.keys());
        const check = await driver.check(loaded.spec, session, target, reachable);
        if (others.length > 0) check.refusals.unshift(`${others.join(", ")} not reachable over SSH.`);
        if (check.refusals.length > 0 || !check.runner) {
          throw new HactlError("QUORUM_RISK", `refusing to remove ${target.name}; nothing was changed`, {
            details: check.refusals.map((r) => `- ${r}`).join("\n"),
            remedy: check.refusals[0],
          });
        }
        for (const w of check.warnings ?? []) ctx.reporter.info(`Note: ${w}`);
        const facts = await forEachNode(
          "Gather facts",
          machinesOf(after).filter((m) => reachable.has(m.name)),
          (m) => gatherFacts(need(session.hosts, m.name), [], []),
        );
        const layout = lbLayout({
          spec: after,
          facts,
          backendApiPort: distribution.apiPort,
          templates: templateSource(after.spec.loadBalancer.templates),
        });
        return { runner: check.runner, lbFiles: layout.files, onNode: reachable.has(target.name) && !opts.force };
      },
      plan: ({ runner, lbFiles, onNode }) => [
        ...leaveLoadBalancers(target, lbFiles, onNode),
        ...driver.phases(target, runner, opts, onNode),
        ...unmountSharedMounts(loaded.spec, onNode ? [target.name] : []),
      ],
      question: `Remove ${target.name} from the cluster?`,
      confirmDefault: false,
      record: () => ({ file: opts.file, text, note: `Removed ${target.name} and recorded it in ${opts.file}.` }),
      after: async () => {
        if (opts.force)
          ctx.reporter.info(`If ${target.name} ever comes back, wipe it before reuse: ${distribution.wipeHint}`);
      },
    },
    ctx,
  );
  return 0;
}

/** The cluster lock (and the journal's copy) stay on a control plane that remains: the first one connected. */
function lockHolder(after: ClusterSpec, session: Session, target: NodeSpec): string {
  const holder = after.spec.nodes.find((n) => n.role === "control-plane" && session.hosts.has(n.name));
  if (!holder) {
    throw new HactlError("QUORUM_RISK", `refusing to remove ${target.name}; nothing was changed`, {
      details: `- no other control-plane node is reachable over SSH to hold the cluster lock`,
      remedy: "Bring another control plane back (hactl status shows which are down), then run the same command again.",
    });
  }
  return holder.name;
}

/** The first phases of every removal: the new LB configs everywhere, then the node's own LB stopped. */
export function leaveLoadBalancers(
  target: NodeSpec,
  lbFiles: ReadonlyMap<string, readonly RenderedConfig[]>,
  onNode: boolean,
): Phase[] {
  const lbSteps = [...lbFiles].map(([machine, files]) =>
    lbStep(machine, files, {
      title: `drop ${target.name} from ${[...new Set(files.map((f) => f.service))].join(" + ")}`,
    }),
  );
  const phases: Phase[] = [
    { title: `Take ${target.name} out of the load balancers`, mode: "parallel", steps: lbSteps },
  ];
  // control planes and gateway nodes run keepalived + haproxy
  if (onNode && (target.role === "control-plane" || target.gateway === true)) {
    const stop: Command = {
      argv: [
        "sh",
        "-c",
        "systemctl stop keepalived; systemctl disable keepalived; systemctl stop haproxy; systemctl disable haproxy; true",
      ],
      sudo: true,
    };
    phases.push({
      title: `Stop ${target.name}'s load balancer`,
      mode: "serial",
      steps: [
        actionStep({
          id: `lb-stop:${target.name}`,
          node: target.name,
          title: "stop keepalived (hands the VIP over) and haproxy",
          actions: [runs(stop)],
        }),
      ],
    });
  }
  return phases;
}

const microk8sRemoval: RemovalDriver = {
  async check(spec, session, target, reachable) {
    const state = await gatherMicrok8sState(
      session.hosts,
      spec.spec.nodes.filter((n) => reachable.has(n.name) && n.name !== target.name),
    );
    return checkRemoval(spec, state, target, reachable);
  },
  phases(target, runner, opts, onNode) {
    const phases: Phase[] = [...drainPhases(target, runner, opts, microk8s.kubectl)];
    if (onNode)
      phases.push({
        title: `${target.name} leaves`,
        mode: "serial",
        steps: [
          actionStep({
            id: `leave:${target.name}`,
            node: target.name,
            title: "microk8s leave",
            actions: [runs(microk8s.leave())],
          }),
        ],
      });
    const force = opts.force || !onNode;
    phases.push({
      title: `Remove ${target.name} from the cluster`,
      mode: "serial",
      steps: [
        actionStep({
          id: `remove:${target.name}`,
          node: runner,
          title: `remove-node ${target.name}${force ? " --force" : ""}`,
          actions: [runs(microk8s.removeNode(target.name, force))],
        }),
      ],
    });
    return phases;
  },
};
