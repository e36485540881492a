import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { openBundle } from "../bundle/local-files.js";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { describePlan, planIsEmpty, planJson, type Plan } from "../core/plan.js";
import { gatherArchitectures } from "../gather/arch.js";
import { gatherKubeadmState } from "../gather/kubeadm-state.js";
import { gatherMicrok8sState } from "../gather/microk8s-state.js";
import {
  kubeadmUpgradeRefusals,
  outlineKubeadmUpgrade,
  planKubeadmUpgrade,
  type KubeadmUpgradeInput,
} from "../phases/upgrade-kubeadm.js";
import {
  microk8sUpgradeRefusals,
  outlineMicrok8sUpgrade,
  planMicrok8sUpgrade,
  type Microk8sUpgradeInput,
} from "../phases/upgrade-microk8s.js";
import type { RollingUpgradeInput, UpgradeOutline } from "../phases/upgrade-rolling.js";
import { parseTargetMinor } from "../phases/upgrade-versions.js";
import { setPath } from "../spec/edit.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import { apiEndpoint } from "./converge-stages.js";
import { withChangeSession } from "./runner.js";
import { applyLocked } from "./locked-apply.js";
import { serviceLayoutInput } from "./service-layout.js";
import { lockNode, type Session } from "./session.js";
import { backupBeforeUpgrade } from "./upgrade-backup.js";
import { waitLivez } from "./verify-api.js";
import { byDistribution, driverFor } from "../distros/registry.js";

export interface UpgradeOptions {
  file: string;
  /** The minor to reach; default: spec.distribution.version. */
  to?: string;
  dryRun: boolean;
  /** At most this many workers at once. */
  batchSize?: string;
  drainTimeout: string;
  templates?: string;
  /** The operator took a backup: the upgrade takes none. */
  skipBackup: boolean;
  /** An offline bundle of the target minor (`--bundle`; else spec.airgap.bundle). */
  bundle?: string;
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
    throw new HactlError("USAGE", `--to ${opts.to ?? ""} is not a Kubernetes minor version`, {
      remedy: "Give the minor to reach, e.g. --to 1.31.",
    });
  }
  const bundlePath = opts.bundle ?? spec.spec.airgap?.bundle;
  // checked against its FILE.sha256 before any node is touched
  const bundle = bundlePath === undefined ? undefined : await openBundle(resolve(bundlePath));
  // both already checked by the command line (intOption)
  const batchSize = opts.batchSize === undefined ? undefined : Number(opts.batchSize);
  const drainSeconds = Number(opts.drainTimeout);
  const recordTo = async (): Promise<void> => {
    if (opts.to === undefined || spec.spec.distribution.version === target) return;
    let text = setPath(loaded.text, ["spec", "distribution", "version"], target);
    // add-node and a re-install then take the nodes' new version from the bundle this upgrade used
    const newBundle = spec.spec.airgap !== undefined && opts.bundle !== undefined ? resolve(opts.bundle) : undefined;
    if (newBundle !== undefined) text = setPath(text, ["spec", "airgap", "bundle"], newBundle);
    await writeFile(opts.file, text);
    ctx.reporter.info(`Recorded version ${target}${newBundle ? ` and bundle ${newBundle}` : ""} in ${opts.file}.`);
  };
  return withChangeSession(spec, { command: "upgrade", lock: !opts.dryRun }, ctx, async (session) => {
    ctx.reporter.phase("Read the cluster");
    const endpoint = apiEndpoint(spec);
    const rolling: RollingUpgradeInput = {
      spec,
      target,
      ...(batchSize !== undefined ? { batchSize } : {}),
      drainSeconds,
      layout: await serviceLayoutInput(spec, session, ctx, opts.templates),
      ...(endpoint ? { endpoint } : {}),
      probe: waitLivez,
    };
    const offline = bundle && { bundle, arch: await gatherArchitectures(session.hosts, spec.spec.nodes) };
    const distro = await readDistribution(spec, session, rolling, offline);
    const refusals = distro.refusals();
    if (refusals.length > 0) {
      throw new HactlError("UPGRADE_REFUSED", `refusing to upgrade to ${target}; nothing was changed`, {
        details: refusals.map((r) => `- ${r}`).join("\n"),
        remedy: refusals[0],
      });
    }
    const outline = distro.outline();
    const plan = distro.plan(outline);
    if (planIsEmpty(plan)) {
      ctx.reporter.info(`Nothing to do: every node runs ${distro.name} ${target}${distro.held}.`);
      ctx.reporter.result({ target, path: [], nothingToDo: true });
      if (!opts.dryRun) await recordTo();
      return 0;
    }
    ctx.reporter.print(formatOutline(outline, target));
    if (spec.spec.nodes.filter((n) => n.role === "control-plane").length < 2 && outline.path.length > 0) {
      ctx.reporter.warn("A single control plane: the API is unavailable while it is upgraded.");
    }
    if (opts.dryRun) {
      const backup = await backupBeforeUpgrade(spec, session, ctx, {
        specFile: opts.file,
        dryRun: true,
        skip: opts.skipBackup,
      });
      ctx.reporter.print(backup.note);
      ctx.reporter.phase("Plan (dry run: nothing is changed)");
      ctx.reporter.print(describePlan(plan));
      ctx.reporter.result({ dryRun: true, target, ...outlineJson(outline), backup, plan: planJson(plan) });
      return 0;
    }
    if (ctx.interactive) {
      ctx.reporter.print(describePlan(plan));
      const { confirm } = await import("../ui/prompts.js");
      if (!(await confirm(`Upgrade ${spec.metadata.name} to ${target}?`, false)))
        throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const backup = await backupBeforeUpgrade(spec, session, ctx, {
      specFile: opts.file,
      dryRun: false,
      skip: opts.skipBackup,
    });
    ctx.reporter.info(backup.note);
    try {
      // the session already holds the cluster lock
      const summary = await applyLocked(
        plan,
        spec,
        session,
        { command: "upgrade", lockOn: undefined, journalOn: lockNode(spec, session) },
        ctx,
      );
      ctx.reporter.info(`\n${summary.changed} step(s) changed, ${summary.unchanged} already done.`);
    } catch (err) {
      throw err instanceof HactlError ? stoppedHere(err, opts, target) : err;
    }
    await recordTo();
    ctx.reporter.result({ target, ...outlineJson(outline), backup: backup.location ?? null, upgraded: true });
    ctx.reporter.print(`\nEvery node runs ${distro.name} ${target}. Next: hactl status -f ${opts.file}`);
    return 0;
  });
}

/** One distribution's reading of the cluster, behind the same three questions. */
interface DistributionUpgrade {
  name: string;
  /** How the "nothing to do" line ends: what keeps the nodes from upgrading on their own. */
  held: string;
  refusals(): string[];
  outline(): UpgradeOutline;
  plan(outline: UpgradeOutline): Plan;
}

async function readDistribution(
  spec: ClusterSpec,
  session: Session,
  rolling: RollingUpgradeInput,
  offline: Microk8sUpgradeInput["offline"],
): Promise<DistributionUpgrade> {
  return byDistribution(spec, { microk8s: readMicrok8s, kubeadm: readKubeadm })(spec, session, rolling, offline);
}

async function readKubeadm(
  spec: ClusterSpec,
  session: Session,
  rolling: RollingUpgradeInput,
  offline: Microk8sUpgradeInput["offline"],
): Promise<DistributionUpgrade> {
  const input: KubeadmUpgradeInput = {
    ...rolling,
    state: await gatherKubeadmState(session.hosts, spec.spec.nodes),
    ...(offline ? { offline } : {}),
  };
  return {
    name: driverFor(spec).title,
    held: "",
    refusals: () => kubeadmUpgradeRefusals(input),
    outline: () => outlineKubeadmUpgrade(input),
    plan: (o) => planKubeadmUpgrade(input, o),
  };
}

async function readMicrok8s(
  spec: ClusterSpec,
  session: Session,
  rolling: RollingUpgradeInput,
  offline: Microk8sUpgradeInput["offline"],
): Promise<DistributionUpgrade> {
  const input: Microk8sUpgradeInput = {
    ...rolling,
    state: await gatherMicrok8sState(session.hosts, spec.spec.nodes),
    ...(offline ? { offline } : {}),
  };
  return {
    name: driverFor(spec).title,
    held: " with refreshes held",
    refusals: () => microk8sUpgradeRefusals(input),
    outline: () => outlineMicrok8sUpgrade(input),
    plan: (o) => planMicrok8sUpgrade(input, o),
  };
}

/** The version path and the order, before the per-node steps. */
export function formatOutline(outline: UpgradeOutline, target: string): string {
  const lines = [`Upgrade to ${target}`];
  const now = [...outline.minors].map(([n, m]) => `${n} ${m}`).join(", ");
  lines.push(`  now:           ${now}`);
  lines.push(
    `  version path:  ${outline.path.length ? outline.path.join(" → ") : "(every node is there)"}, one complete rolling pass per minor`,
  );
  if (outline.resumed.length)
    lines.push(`  put back first (a stopped run left them out of service): ${outline.resumed.join(", ")}`);
  for (const pass of outline.passes) {
    lines.push(`  ${pass.minor}: control planes one at a time: ${pass.controlPlanes.join(" → ") || "none"}`);
    if (pass.workerBatches.length)
      lines.push(
        `  ${pass.minor}: workers in batches: ${pass.workerBatches.map((b) => `[${b.join(", ")}]`).join(" → ")}`,
      );
  }
  return lines.join("\n");
}

function outlineJson(outline: UpgradeOutline): Record<string, unknown> {
  return {
    from: Object.fromEntries(outline.minors),
    path: outline.path,
    passes: outline.passes,
    resumed: outline.resumed,
  };
}

/** A stopped upgrade says which node is left out of service and how to resume. */
function stoppedHere(err: HactlError, opts: UpgradeOptions, target: string): HactlError {
  if (err.code === "USER_ABORTED") return err;
  const resume = `hactl upgrade -f ${opts.file}${opts.to !== undefined ? ` --to ${target}` : ""}`;
  const where = err.node
    ? `${err.node} may be left cordoned and out of the load balancers (labelled hactl.dev/upgrade); `
    : "";
  return err.withDetails([`The upgrade stopped here; ${where}the same command resumes where it stopped: ${resume}`]);
}
