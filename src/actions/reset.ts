import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir, type RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { describePlan, type Phase } from "../core/plan.js";
import { findVipHolders } from "../gather/cluster-status.js";
import { cleanupSteps, forgetNodeStep, resetPhases, uninstallStep } from "../phases/reset.js";
import { unmountSharedMounts } from "../phases/shared-mounts-undo.js";
import { loadSpecFile } from "../spec/parse.js";
import { nodeSchema, type ClusterSpec, type NodeSpec } from "../spec/schema.js";
import { applyLocked } from "./locked-apply.js";
import { runRemoveNode } from "./remove-node.js";
import { lockNode, machinesOf, openSession } from "./session.js";

export interface ResetOptions {
  node?: string;
  all: boolean;
  confirm?: string;
  force: boolean;
  drainTimeout: string;
  file: string;
  dryRun: boolean;
}

/**
 * `hactl reset NODE`: remove-node (same quorum guard, same LB-first order), then the server back to what
 * it was before hactl. `hactl reset --all --confirm NAME`: every machine of the cluster, the VIP held by
 * nobody afterwards.
 */
export async function runReset(opts: ResetOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  if (opts.all) {
    if (opts.node)
      throw new HactlError("USAGE", "give either a node name or --all, not both", {
        remedy: `hactl reset ${opts.node}  or  hactl reset --all --confirm ${spec.metadata.name}`,
      });
    return resetAll(spec, opts, ctx);
  }
  if (!opts.node)
    throw new HactlError("USAGE", "reset needs a node name, or --all with --confirm", {
      remedy: "hactl reset NODE  (one node)  or  hactl reset --all --confirm <metadata.name>  (the whole cluster)",
    });
  if (opts.confirm !== undefined)
    throw new HactlError("USAGE", "--confirm goes with --all only", { remedy: `hactl reset ${opts.node}` });
  return resetNode(spec, opts.node, opts, ctx);
}

/** Reset asks first: a prompt on a terminal, otherwise --yes must say so. */
async function confirmReset(question: string, ctx: RunContext): Promise<void> {
  if (ctx.interactive) {
    const { confirm } = await import("../ui/prompts.js");
    if (!(await confirm(question, false))) throw new HactlError("USER_ABORTED", "cancelled before any change");
    return;
  }
  if (!ctx.yes)
    throw new HactlError("USAGE", "reset wipes servers and needs a confirmation; nothing was changed", {
      remedy: "Run it in a terminal to be asked, or add --yes.",
    });
}

/**
 * Where a node being reset is remembered between its removal and the end of its cleanup: remove-node
 * takes it out of cluster.yaml, so a re-run after a Ctrl-C (or a --force reset of a node that comes back
 * later) still knows how to reach it.
 */
function pendingPath(cluster: string, node: string): string {
  return join(stateDir(), "reset", `${cluster}.${node}.json`);
}

function readPending(cluster: string, node: string): NodeSpec | undefined {
  const path = pendingPath(cluster, node);
  if (!existsSync(path)) return undefined;
  return nodeSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}

function writePending(cluster: string, node: NodeSpec): void {
  const path = pendingPath(cluster, node.name);
  mkdirSync(join(stateDir(), "reset"), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(node)}\n`, { mode: 0o600 });
}

async function resetNode(spec: ClusterSpec, name: string, opts: ResetOptions, ctx: RunContext): Promise<number> {
  const inSpec = spec.spec.nodes.find((n) => n.name === name);
  const target = inSpec ?? readPending(spec.metadata.name, name);
  if (!target)
    throw new HactlError("USAGE", `node ${name} is not in ${opts.file}`, {
      remedy: "Check the name with `hactl status`.",
    });
  const cleanup: Phase[] = [
    {
      title: `Uninstall ${spec.spec.distribution.type} from ${name}`,
      mode: "serial",
      steps: [uninstallStep(spec.spec.distribution.type, name)],
    },
    { title: `Remove hactl's files from ${name}`, mode: "serial", steps: cleanupSteps(name) },
    ...unmountSharedMounts(spec, [name]),
  ];
  if (!opts.dryRun)
    await confirmReset(
      `Reset ${name}: remove it from the cluster and wipe ${spec.spec.distribution.type} and hactl's files from it?`,
      ctx,
    );
  const quiet: RunContext = { ...ctx, interactive: false };
  if (inSpec) {
    await runRemoveNode(
      { name, force: opts.force, drainTimeout: opts.drainTimeout, file: opts.file, dryRun: opts.dryRun },
      quiet,
    );
    if (!opts.dryRun) writePending(spec.metadata.name, inSpec);
  } else {
    ctx.reporter.info(`${name} was already removed from the cluster by an earlier reset; finishing its cleanup.`);
  }
  if (opts.dryRun) {
    ctx.reporter.print(describePlan(cleanup));
    return 0;
  }
  // A node finished from an earlier --force reset may have registered itself again: a control plane
  // deletes its Node object after the cleanup.
  const runners = inSpec ? [] : spec.spec.nodes.filter((n) => n.role === "control-plane");
  const session = await openSession(spec, [target, ...runners], quiet, { tolerateUnreachable: true });
  try {
    if (!session.hosts.has(name)) {
      if (opts.force) {
        ctx.reporter.warn(
          `${name} is not reachable: it is out of the cluster, but its server was not cleaned. Run 'hactl reset ${name}' again once it is back.`,
        );
        return 0;
      }
      throw new HactlError("SSH_UNREACHABLE", `${name} is out of the cluster, but not reachable for its cleanup`, {
        node: name,
        remedy: `Run 'hactl reset ${name}' again once it is reachable.`,
      });
    }
    const runner = runners.find((n) => session.hosts.has(n.name));
    const plan = runner
      ? [
          ...cleanup,
          {
            title: `Forget ${name}`,
            mode: "serial" as const,
            steps: [forgetNodeStep(spec.spec.distribution.type, name, runner.name)],
          },
        ]
      : cleanup;
    await applyLocked(plan, spec, session, { command: "reset", lockOn: undefined, journalOn: undefined }, ctx);
  } finally {
    await session.close();
  }
  rmSync(pendingPath(spec.metadata.name, name), { force: true });
  ctx.reporter.result({ reset: [name] });
  ctx.reporter.info(`${name} is out of the cluster and back to a bare server.`);
  return 0;
}

async function resetAll(spec: ClusterSpec, opts: ResetOptions, ctx: RunContext): Promise<number> {
  if (opts.confirm !== spec.metadata.name) {
    throw new HactlError(
      "USAGE",
      `reset --all destroys the cluster ${spec.metadata.name}: --confirm must repeat its name; nothing was changed`,
      {
        remedy: `hactl reset --all --confirm ${spec.metadata.name} -f ${opts.file}`,
      },
    );
  }
  if (!opts.dryRun)
    await confirmReset(
      `Destroy the cluster ${spec.metadata.name} and wipe all ${machinesOf(spec).length} machines?`,
      ctx,
    );
  const session = await openSession(
    spec,
    machinesOf(spec),
    { ...ctx, interactive: false },
    { tolerateUnreachable: true },
  );
  try {
    const down = session.unreachable.map((e) => e.node ?? "?");
    if (down.length > 0 && !opts.force) {
      throw new HactlError("SSH_UNREACHABLE", `${down.join(", ")} not reachable; nothing was changed`, {
        remedy: "Bring them back, or add --force to reset the others and leave these as they are.",
      });
    }
    const nodes = spec.spec.nodes.map((n) => n.name).filter((n) => session.hosts.has(n));
    const lbHosts = (spec.spec.loadBalancer.external?.hosts ?? [])
      .map((h) => h.name)
      .filter((n) => session.hosts.has(n));
    const plan = [...resetPhases(spec.spec.distribution.type, nodes, lbHosts), ...unmountSharedMounts(spec, nodes)];
    if (opts.dryRun) {
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(plan));
      return 0;
    }
    const holder = spec.spec.nodes.some((n) => n.role === "control-plane" && session.hosts.has(n.name))
      ? lockNode(spec, session)
      : undefined;
    // The journal stays local: the plan deletes hactl's state directory on every node.
    await applyLocked(plan, spec, session, { command: "reset --all", lockOn: holder, journalOn: undefined }, ctx);
    const vip = spec.spec.loadBalancer.vip;
    const holders = vip ? await findVipHolders(session.hosts, vip) : [];
    if (holders.length > 0) {
      throw new HactlError("UNHEALTHY", `the VIP ${vip ?? ""} is still held by ${holders.join(", ")} after the reset`, {
        remedy: `On ${holders.join(", ")}: systemctl stop keepalived, then run the reset again.`,
      });
    }
    for (const n of down) ctx.reporter.warn(`${n} was not reachable and was left as it is; wipe it before reusing it.`);
    ctx.reporter.result({ reset: [...nodes, ...lbHosts], skipped: down, vipHolders: holders });
    ctx.reporter.info(
      `The cluster ${spec.metadata.name} is gone: ${nodes.length + lbHosts.length} machines are back to bare servers${vip ? `, and nobody holds ${vip}` : ""}. ${opts.file} is kept for a reinstall.`,
    );
    return 0;
  } finally {
    await session.close();
  }
}
