import { writeFile } from "node:fs/promises";
import type { RunContext } from "../../cli/context.js";
import { HactlError } from "../../core/errors.js";
import { applyPlan } from "../../core/executor.js";
import { forEachNode } from "../../core/parallel.js";
import { describePlan, type Phase, type Step } from "../../core/plan.js";
import { KUBEADM_API_PORT, kubeadm } from "../../distros/kubeadm.js";
import { gatherFacts, type NodeFacts } from "../../gather/facts.js";
import { gatherKubeadmState } from "../../gather/kubeadm-state.js";
import type { RenderedConfig } from "../../lb/render.js";
import { templateSource } from "../../lb/template-source.js";
import { activateConfigs } from "../../phases/activate-config.js";
import { deleteNodeObject, removeEtcdMembersAt } from "../../phases/kubeadm/join.js";
import { checkKubeadmRemoval } from "../../phases/kubeadm/remove-safety.js";
import { lbLayout } from "../../phases/lb-configs.js";
import { need } from "../../phases/prepare-hosts.js";
import { removeNode } from "../../spec/edit.js";
import { loadSpecFile } from "../../spec/parse.js";
import type { NodeSpec } from "../../spec/schema.js";
import { parseEdited } from "../add-node.js";
import { acquireClusterLock } from "../lock.js";
import type { RemoveNodeOptions } from "../remove-node.js";
import { machinesOf, openSession } from "../session.js";

/**
 * `hactl remove-node` under kubeadm: refuse when etcd would lose quorum or another control plane is
 * unhealthy; otherwise take the node out of every load balancer, drain it, `kubeadm reset -f` on it,
 * remove its etcd member and its Node object from a remaining control plane. --force (a dead node)
 * skips what needs the node and cleans up from the remaining control plane.
 */
export async function runRemoveKubeadmNode(opts: RemoveNodeOptions, ctx: RunContext): Promise<number> {
  const loaded = await loadSpecFile(opts.file);
  const target = loaded.spec.spec.nodes.find((n) => n.name === opts.name);
  if (!target) throw new HactlError("USAGE", `node ${opts.name} is not in ${opts.file}`, { remedy: "Check the name with `hactl status`." });
  const text = removeNode(loaded.text, opts.name);
  const after = parseEdited(text, opts.file);
  const session = await openSession(loaded.spec, machinesOf(loaded.spec), ctx, { tolerateUnreachable: true });
  try {
    const unreachable = session.unreachable.map((e) => e.node);
    if (unreachable.includes(target.name) && !opts.force) {
      throw new HactlError("SSH_UNREACHABLE", `${target.name} is not reachable`, { node: target.name, remedy: `If it is dead for good, run hactl remove-node ${target.name} --force.` });
    }
    const reachable = new Set(session.hosts.keys());
    const state = await gatherKubeadmState(session.hosts, loaded.spec.spec.nodes.filter((n) => reachable.has(n.name) && n.name !== target.name));
    const check = checkKubeadmRemoval(loaded.spec, state, target, reachable);
    const others = unreachable.filter((n) => n !== target.name);
    if (others.length > 0) check.refusals.unshift(`${others.join(", ")} not reachable over SSH.`);
    if (check.refusals.length > 0 || !check.runner) {
      throw new HactlError("QUORUM_RISK", `refusing to remove ${target.name}; nothing was changed`, { details: check.refusals.map((r) => `- ${r}`).join("\n"), remedy: check.refusals[0] });
    }
    for (const w of check.warnings) ctx.reporter.info(`Note: ${w}`);
    const facts = await forEachNode("Gather facts", machinesOf(after).filter((m) => reachable.has(m.name)), (m) => gatherFacts(need(session.hosts, m.name), [], []));
    const layout = lbLayout({ spec: after, facts: facts as ReadonlyMap<string, NodeFacts>, backendApiPort: KUBEADM_API_PORT, templates: templateSource(after.spec.loadBalancer.templates) });
    const plan = kubeadmRemovalPlan(target, check.runner, layout.files, opts, reachable.has(target.name) && !opts.force);
    if (opts.dryRun) {
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(plan));
      return 0;
    }
    if (ctx.interactive) {
      ctx.reporter.print(describePlan(plan));
      const { confirm } = await import("../../ui/prompts.js");
      if (!(await confirm(`Remove ${target.name} from the cluster?`, false))) throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const lock = await acquireClusterLock(need(session.hosts, check.runner), "remove-node", ctx.reporter);
    try {
      await applyPlan(plan, { hosts: session.hosts, reporter: ctx.reporter, signal: ctx.signal });
    } finally {
      await lock.release();
    }
    await writeFile(opts.file, text);
    ctx.reporter.info(`Removed ${target.name} and recorded it in ${opts.file}.`);
    if (opts.force) ctx.reporter.info(`If ${target.name} ever comes back, wipe it before reuse: on it run 'kubeadm reset -f' and remove the /etc/keepalived and /etc/haproxy configs.`);
    return 0;
  } finally {
    await session.close();
  }
}

/** The removal as phases: LBs first, the node's own LB stopped, drain, reset on the node, etcd member and Node removed. */
export function kubeadmRemovalPlan(target: NodeSpec, runner: string, lbFiles: ReadonlyMap<string, readonly RenderedConfig[]>, opts: Pick<RemoveNodeOptions, "force" | "drainTimeout">, onNode: boolean): Phase[] {
  const lbSteps: Step[] = [...lbFiles].map(([machine, files]) => ({
    id: `lb:${machine}`,
    node: machine,
    title: `drop ${target.name} from ${[...new Set(files.map((f) => f.service))].join(" + ")}`,
    describe: files.map((f) => `${f.path}: validate, install with backup, reload ${f.service}`),
    run: (ctx) => activateConfigs(need(ctx.hosts, machine), files, ctx.signal),
  }));
  const drainSeconds = Math.max(10, Number(opts.drainTimeout) || 120);
  const phases: Phase[] = [{ title: `Take ${target.name} out of the load balancers`, mode: "parallel", steps: lbSteps }];
  if (onNode && target.role === "control-plane") {
    phases.push({
      title: `Stop ${target.name}'s load balancer`,
      mode: "serial",
      steps: [
        {
          id: `lb-stop:${target.name}`,
          node: target.name,
          title: "stop keepalived (hands the VIP over) and haproxy",
          describe: ["systemctl disable --now keepalived haproxy"],
          async run(ctx) {
            await need(ctx.hosts, target.name).run({ argv: ["sh", "-c", "systemctl stop keepalived; systemctl disable keepalived; systemctl stop haproxy; systemctl disable haproxy; true"], sudo: true });
            return "changed";
          },
        },
      ],
    });
  }
  if (!opts.force) {
    const drain = kubeadm.kubectl("drain", target.name, "--ignore-daemonsets", "--delete-emptydir-data", "--force", `--timeout=${drainSeconds}s`);
    phases.push({
      title: `Drain ${target.name}`,
      mode: "serial",
      steps: [
        {
          id: `drain:${target.name}`,
          node: runner,
          title: `cordon and drain ${target.name}`,
          describe: [drain.argv.join(" ")],
          async run(ctx) {
            await need(ctx.hosts, runner).run({ ...drain, timeoutMs: (drainSeconds + 60) * 1000 }, { signal: ctx.signal });
            return "changed";
          },
        },
      ],
    });
  }
  if (onNode) {
    phases.push({
      title: `Reset ${target.name}`,
      mode: "serial",
      steps: [
        {
          id: `reset:${target.name}`,
          node: target.name,
          title: "kubeadm reset -f (removes its own etcd member when it can)",
          describe: ["kubeadm reset -f"],
          async run(ctx) {
            await need(ctx.hosts, target.name).run(kubeadm.reset(), { signal: ctx.signal });
            return "changed";
          },
        },
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
        describe: [...(target.role === "control-plane" ? [`etcdctl member list; member remove <id at ${target.address}>`] : []), `kubectl delete node ${target.name}`],
        async run(ctx) {
          const host = need(ctx.hosts, runner);
          const removed = target.role === "control-plane" ? await removeEtcdMembersAt(host, target.address, ctx.log) : 0;
          const deleted = await deleteNodeObject(host, target.name, ctx.log);
          return removed > 0 || deleted ? "changed" : "unchanged";
        },
      },
    ],
  });
  return phases;
}
