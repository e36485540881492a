import { applyLocked } from "./locked-apply.js";
import { writeFile } from "node:fs/promises";
import type { RunContext } from "../cli/context.js";
import { HactlError } from "../core/errors.js";
import { forEachNode } from "../core/parallel.js";
import { describePlan, planIsEmpty, type Plan } from "../core/plan.js";
import { MICROK8S_API_PORT } from "../distros/microk8s.js";
import { gatherFacts } from "../gather/facts.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import { templateSource } from "../lb/template-source.js";
import { lbLayout } from "../phases/lb-configs.js";
import { need } from "../phases/prepare-hosts.js";
import { microk8sUpgradeRefusals, outlineMicrok8sUpgrade, planMicrok8sUpgrade, type Microk8sUpgradeInput, type UpgradeLbInput, type UpgradeOutline } from "../phases/upgrade-microk8s.js";
import { parseTargetMinor } from "../phases/upgrade-versions.js";
import { setPath } from "../spec/edit.js";
import { loadSpecFile } from "../spec/parse.js";
import { controlPlaneNodes, type ClusterSpec } from "../spec/schema.js";
import { resolveSecret } from "../spec/secrets.js";
import { apiEndpoint } from "./converge-stages.js";
import { withClusterSession } from "./install.js";
import { lockNode, type Session } from "./session.js";
import { backupBeforeUpgrade } from "./upgrade-backup.js";
import { probeLivez } from "./verify-api.js";

export interface UpgradeOptions {
  file: string;
  /** The minor to reach; default: spec.distribution.version. */
  to?: string;
  dryRun: boolean;
  /** At most this many workers at once. */
  batchSize?: string;
  drainTimeout: string;
  templates?: string;
}

/**
 * `hactl upgrade`: refuse what is unsafe before any change (exit 2), otherwise a rolling upgrade one minor
 * at a time under the cluster lock, every step in the run journal; a re-run resumes from fresh facts.
 * With --to, the version is recorded in cluster.yaml (comments kept) once every node runs it.
 */
export async function runUpgrade(opts: UpgradeOptions, ctx: RunContext): Promise<number> {
  const loaded = await loadSpecFile(opts.file);
  const { spec } = loaded;
  const target = opts.to === undefined ? spec.spec.distribution.version : parseTargetMinor(opts.to);
  if (!target) {
    throw new HactlError("USAGE", `--to ${opts.to ?? ""} is not a Kubernetes minor version`, { remedy: "Give the minor to reach, e.g. --to 1.31." });
  }
  if (spec.spec.airgap !== undefined) {
    throw new HactlError("NOT_IMPLEMENTED", "hactl upgrade does not take an offline bundle yet, and this cluster's nodes are air-gapped (spec.airgap)", {
      remedy: "Refresh each node from a bundle of the target minor by hand (snap ack, snap refresh ./microk8s_*.snap --classic), one control plane at a time.",
    });
  }
  // both already checked by the command line (intOption)
  const batchSize = opts.batchSize === undefined ? undefined : Number(opts.batchSize);
  const drainSeconds = Number(opts.drainTimeout);
  if (spec.spec.distribution.type !== "microk8s") {
    throw new HactlError("NOT_IMPLEMENTED", "hactl upgrade supports MicroK8s clusters in this version", {
      remedy: "Upgrade a kubeadm cluster with kubeadm upgrade plan/apply on the first control plane and kubeadm upgrade node on the others, one node at a time.",
    });
  }
  const recordTo = async (): Promise<void> => {
    if (opts.to === undefined || spec.spec.distribution.version === target) return;
    await writeFile(opts.file, setPath(loaded.text, ["spec", "distribution", "version"], target));
    ctx.reporter.info(`Recorded version ${target} in ${opts.file}.`);
  };
  return withClusterSession(spec, "upgrade", ctx, { lock: !opts.dryRun }, async (session) => {
    ctx.reporter.phase("Read the cluster");
    const state = await gatherMicrok8sState(session.hosts, spec.spec.nodes);
    const endpoint = apiEndpoint(spec);
    const input: Microk8sUpgradeInput = {
      spec,
      state,
      target,
      ...(batchSize !== undefined ? { batchSize } : {}),
      drainSeconds,
      lb: await upgradeLbInput(spec, session, opts, ctx),
      ...(endpoint ? { apiReachable: () => probeLivez(endpoint.host, endpoint.port, 3000) } : {}),
    };
    const refusals = microk8sUpgradeRefusals(input);
    if (refusals.length > 0) {
      throw new HactlError("UPGRADE_REFUSED", `refusing to upgrade to ${target}; nothing was changed`, {
        details: refusals.map((r) => `- ${r}`).join("\n"),
        remedy: refusals[0],
      });
    }
    const outline = outlineMicrok8sUpgrade(input);
    const plan = planMicrok8sUpgrade(input, outline);
    if (planIsEmpty(plan)) {
      ctx.reporter.info(`Nothing to do: every node runs MicroK8s ${target} with refreshes held.`);
      ctx.reporter.result({ target, path: [], nothingToDo: true });
      if (!opts.dryRun) await recordTo();
      return 0;
    }
    ctx.reporter.print(formatOutline(outline, target));
    if (spec.spec.nodes.filter((n) => n.role === "control-plane").length < 2 && outline.path.length > 0) {
      ctx.reporter.warn("A single control plane: the API is unavailable while it refreshes.");
    }
    const backup = await backupBeforeUpgrade(spec, ctx, opts.dryRun);
    if (opts.dryRun) {
      ctx.reporter.print(backup.note);
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(plan));
      ctx.reporter.result({ dryRun: true, target, ...outlineJson(outline), backup, plan: planJson(plan) });
      return 0;
    }
    if (ctx.interactive) {
      ctx.reporter.print(describePlan(plan));
      const { confirm } = await import("../ui/prompts.js");
      if (!(await confirm(`Upgrade ${spec.metadata.name} to ${target}?`, false))) throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    try {
      // the session already holds the cluster lock
      const summary = await applyLocked(plan, spec, session, { command: "upgrade", lockOn: undefined, journalOn: lockNode(spec, session) }, ctx);
      ctx.reporter.info(`\n${summary.changed} step(s) changed, ${summary.unchanged} already done.`);
    } catch (err) {
      throw err instanceof HactlError ? stoppedHere(err, opts, target) : err;
    }
    await recordTo();
    ctx.reporter.result({ target, ...outlineJson(outline), upgraded: true });
    ctx.reporter.print(`\nEvery node runs MicroK8s ${target}. Next: hactl status -f ${opts.file}`);
    return 0;
  });
}

/** Rendered LB configs with every node in service, and a pure way to render them without some. */
async function upgradeLbInput(spec: ClusterSpec, session: Session, opts: UpgradeOptions, ctx: RunContext): Promise<UpgradeLbInput> {
  const lb = spec.spec.loadBalancer;
  const machines = lb.mode === "external" ? (lb.external?.hosts ?? []) : lb.mode === "keepalived-haproxy" ? controlPlaneNodes(spec) : [];
  const facts = await forEachNode("Gather facts", machines, (m) => gatherFacts(need(session.hosts, m.name), [], []));
  const stats = lb.stats;
  const statsPassword = stats.enabled && stats.password ? await resolveSecret(stats.password, { interactive: ctx.interactive, label: "spec.loadBalancer.stats.password" }) : undefined;
  const base = { spec, facts, backendApiPort: MICROK8S_API_PORT, templates: templateSource(opts.templates ?? lb.templates), ...(statsPassword ? { statsPassword } : {}) };
  return {
    normal: lbLayout(base).files,
    without: (nodes, standby) => lbLayout({ ...base, outOfService: nodes, ...(standby ? { vrrpStandby: standby } : {}) }).files,
    ...(lb.mode === "keepalived-haproxy" && lb.vip ? { controlPlaneVip: lb.vip } : {}),
  };
}

/** The version path and the order, before the per-node steps. */
export function formatOutline(outline: UpgradeOutline, target: string): string {
  const lines = [`Upgrade to ${target}`];
  const now = [...outline.minors].map(([n, m]) => `${n} ${m}`).join(", ");
  lines.push(`  now:           ${now}`);
  lines.push(`  version path:  ${outline.path.length ? outline.path.join(" → ") : "(every node is there)"}, one complete rolling pass per minor`);
  if (outline.resumed.length) lines.push(`  put back first (a stopped run left them out of service): ${outline.resumed.join(", ")}`);
  for (const pass of outline.passes) {
    lines.push(`  ${pass.minor}: control planes one at a time: ${pass.controlPlanes.join(" → ") || "none"}`);
    if (pass.workerBatches.length) lines.push(`  ${pass.minor}: workers in batches: ${pass.workerBatches.map((b) => `[${b.join(", ")}]`).join(" → ")}`);
  }
  return lines.join("\n");
}

function outlineJson(outline: UpgradeOutline): Record<string, unknown> {
  return { from: Object.fromEntries(outline.minors), path: outline.path, passes: outline.passes, resumed: outline.resumed };
}

function planJson(plan: Plan): unknown {
  return plan.map((p) => ({ phase: p.title, mode: p.mode, steps: p.steps.map((s) => ({ id: s.id, node: s.node, title: s.title, describe: s.describe })) }));
}

/** A stopped upgrade says which node is left out of service and how to resume. */
function stoppedHere(err: HactlError, opts: UpgradeOptions, target: string): HactlError {
  if (err.code === "USER_ABORTED") return err;
  const resume = `hactl upgrade -f ${opts.file}${opts.to !== undefined ? ` --to ${target}` : ""}`;
  const where = err.node ? `${err.node} may be left cordoned and out of the load balancers (labelled hactl.dev/upgrade); ` : "";
  return err.withDetails([`The upgrade stopped here; ${where}the same command resumes where it stopped: ${resume}`]);
}
