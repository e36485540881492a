/**
 * `hactl deploy`: spec.deploy applied in order on a control plane (only items whose inputs changed),
 * each recorded in the cluster after it succeeded; `--list` reads the record back, `--remove NAME`
 * deletes what an item created. `hactl install` calls deployAll() once the cluster is healthy.
 */
import { hostname, userInfo } from "node:os";
import { dirname, resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import type { Phase, Plan, Step } from "../core/plan.js";
import { driverFor } from "../distros/registry.js";
import {
  applyItem,
  deployError,
  readRecord,
  removeItem,
  updateRecord,
  type DeployTarget,
} from "../phases/deploy/apply.js";
import { readItemInputs, type ReadItem } from "../phases/deploy/inputs.js";
import {
  deployPlanJson,
  describeDeployPlan,
  itemsToApply,
  planDeploy,
  recordEntryFor,
  type PlannedItem,
  type RecordEntry,
} from "../phases/deploy/plan.js";
import { RECORD_NAME, RECORD_NAMESPACE } from "../phases/deploy/record.js";
import { loadSpecFile } from "../spec/parse.js";
import { resolveSecret } from "../spec/secrets.js";
import type { ClusterSpec } from "../spec/schema.js";
import { anyClusterOf, withAnyCluster, type AnyAppCluster } from "./app/common.js";
import { applyLocked } from "./locked-apply.js";
import type { Session } from "./session.js";

export interface DeployOptions {
  file: string;
  dryRun: boolean;
  list: boolean;
  remove?: string;
}

/** Who ran the deploy, as the record keeps it. */
function operator(): string {
  return `${userInfo().username}@${hostname()}`;
}

/** Reads every item's inputs (paths relative to cluster.yaml's directory), resolving secret values. */
export async function readDeployInputs(spec: ClusterSpec, specFile: string, ctx: RunContext): Promise<ReadItem[]> {
  const baseDir = dirname(resolve(specFile));
  const { secret } = await import("../ui/prompts.js");
  const out: ReadItem[] = [];
  for (const [i, item] of spec.spec.deploy.entries()) {
    const secrets = new Map<string, string>();
    for (const [key, ref] of Object.entries(item.secretValues ?? {})) {
      secrets.set(
        key,
        await resolveSecret(ref, {
          interactive: ctx.interactive,
          prompt: secret,
          label: `spec.deploy[${i}].secretValues.${key}`,
        }),
      );
    }
    out.push(await readItemInputs(item, i, baseDir, secrets));
  }
  return out;
}

/** How the leader runs kubectl and helm; a kubeadm leader gets the helm binary of spec.distribution.helm first. */
async function targetOf(app: AnyAppCluster, ctx: RunContext, needsHelm: boolean): Promise<DeployTarget> {
  const log = (line: string): void => ctx.reporter.log(app.leader, line);
  const driver = driverFor(app.spec);
  if (needsHelm) await driver.installHelm(app.spec, app.leaderHost);
  return { host: app.leaderHost, kubectl: driver.kubectl, helm: driver.helm, signal: ctx.signal, log };
}

function stepFor(p: PlannedItem, read: ReadItem, target: DeployTarget, leader: string): Step {
  return {
    id: `deploy:${p.inputs.name}`,
    node: leader,
    title: `deploy ${p.inputs.name} (${p.state})`,
    describe: describeDeployPlan([p]),
    async run() {
      try {
        const objects = await applyItem(target, read);
        const entry = recordEntryFor(p, objects, new Date(), operator());
        await updateRecord(target, (record) => record.set(entry.item, entry));
        return "changed";
      } catch (e) {
        throw deployError(p.inputs.name, e);
      }
    },
  };
}

/** Plans against the record, then prints (--dry-run) or applies the changed items in order. */
async function deployOn(
  app: AnyAppCluster,
  reads: readonly ReadItem[],
  names: readonly string[],
  dryRun: boolean,
  ctx: RunContext,
): Promise<PlannedItem[]> {
  const { reporter } = ctx;
  const record = await readRecord(app.leaderHost, app.kubectl);
  const plan = planDeploy(
    reads.map((r) => r.inputs),
    record,
    names,
  );
  const todo = itemsToApply(plan);
  if (dryRun) {
    reporter.phase("Deploy plan (dry run: nothing is changed)");
    reporter.print(describeDeployPlan(plan).join("\n"));
    return plan;
  }
  if (todo.length === 0) {
    reporter.info(`Nothing to deploy: ${plan.length} item(s) unchanged since they were recorded.`);
    return plan;
  }
  if (ctx.interactive) {
    reporter.print(describeDeployPlan(plan).join("\n"));
    const { confirm } = await import("../ui/prompts.js");
    if (!(await confirm(`Apply ${todo.map((p) => p.inputs.name).join(", ")}?`, true)))
      throw new HactlError("USER_ABORTED", "cancelled before any change");
  }
  for (const p of plan.filter((x) => x.state === "unchanged"))
    reporter.step(app.leader, `deploy ${p.inputs.name}: unchanged`, "unchanged");
  const target = await targetOf(
    app,
    ctx,
    todo.some((p) => p.inputs.type === "chart"),
  );
  const byName = new Map(reads.map((r) => [r.inputs.name, r]));
  const steps = todo.map((p) => {
    const read = byName.get(p.inputs.name);
    if (!read) throw new HactlError("INTERNAL", `no inputs read for ${p.inputs.name}`);
    return stepFor(p, read, target, app.leader);
  });
  const phases: Plan = [{ title: "Deploy", mode: "serial", steps } satisfies Phase];
  await applyLocked(
    phases,
    app.spec,
    app.session,
    { command: "deploy", lockOn: undefined, journalOn: app.leader },
    ctx,
  );
  return plan;
}

function resultOf(plan: readonly PlannedItem[], dryRun: boolean): unknown {
  return dryRun
    ? { dryRun: true, items: deployPlanJson(plan) }
    : {
        items: plan.map((p) => ({
          item: p.inputs.name,
          state: p.state,
          applied: p.state !== "unchanged",
          checksum: p.checksum,
        })),
      };
}

export async function runDeploy(names: readonly string[], opts: DeployOptions, ctx: RunContext): Promise<number> {
  if (opts.list) return runDeployList(opts, ctx);
  if (opts.remove !== undefined) return runDeployRemove(opts.remove, opts, ctx);
  const { spec } = await loadSpecFile(opts.file);
  if (spec.spec.deploy.length === 0) {
    throw new HactlError("USAGE", "spec.deploy is empty: there is nothing to deploy", {
      remedy:
        "Add items to spec.deploy in cluster.yaml (see docs/cluster-yaml.md), e.g. - { name: web, manifests: [./k8s/web.yaml] }.",
    });
  }
  const reads = await readDeployInputs(spec, opts.file, ctx);
  // Unknown item names are refused before any connection is made.
  planDeploy(
    reads.map((r) => r.inputs),
    new Map(),
    names,
  );
  return withAnyCluster(opts.file, ctx, { command: "deploy", lock: !opts.dryRun, spec }, async (app) => {
    const plan = await deployOn(app, reads, names, opts.dryRun, ctx);
    ctx.reporter.result(resultOf(plan, opts.dryRun));
    return 0;
  });
}

/** install's last stage: spec.deploy over the install's session, under the lock install holds. */
export async function deployAll(
  spec: ClusterSpec,
  reads: readonly ReadItem[],
  session: Session,
  ctx: RunContext,
): Promise<void> {
  const app = await anyClusterOf(spec, "", session);
  await deployOn(app, reads, [], false, ctx);
}

/** Recorded items in spec.deploy's order, then those no longer in it. */
export function inSpecOrder(record: ReadonlyMap<string, RecordEntry>, spec: ClusterSpec): RecordEntry[] {
  const order = spec.spec.deploy.map((d) => d.name);
  const rank = (n: string): number => (order.includes(n) ? order.indexOf(n) : order.length);
  return [...record.values()].sort((a, b) => rank(a.item) - rank(b.item));
}

export function listLines(rows: readonly RecordEntry[], spec: ClusterSpec): string[] {
  if (rows.length === 0) return [`Nothing is deployed (no record in secret ${RECORD_NAMESPACE}/${RECORD_NAME}).`];
  const order = spec.spec.deploy.map((d) => d.name);
  const header = ["ITEM", "TYPE", "REVISION", "VERSION", "CHECKSUM", "APPLIED", "BY"];
  const table = [
    header,
    ...rows.map((e) => [
      e.item,
      e.type,
      String(e.revision),
      e.chartVersion ?? "-",
      e.checksum.slice(0, 19),
      e.appliedAt,
      e.by,
    ]),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? "").length)));
  const lines = table.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  const notInSpec = rows.filter((e) => !order.includes(e.item)).map((e) => e.item);
  if (notInSpec.length > 0)
    lines.push(
      "",
      `Recorded but not in spec.deploy: ${notInSpec.join(", ")} (hactl deploy --remove NAME deletes one).`,
    );
  return lines;
}

export async function runDeployList(opts: DeployOptions, ctx: RunContext): Promise<number> {
  return withAnyCluster(opts.file, ctx, { command: "deploy --list", lock: false }, async (app) => {
    const rows = inSpecOrder(await readRecord(app.leaderHost, app.kubectl), app.spec);
    ctx.reporter.print(listLines(rows, app.spec).join("\n"));
    ctx.reporter.result({ items: rows });
    return 0;
  });
}

export async function runDeployRemove(name: string, opts: DeployOptions, ctx: RunContext): Promise<number> {
  return withAnyCluster(opts.file, ctx, { command: "deploy --remove", lock: !opts.dryRun }, async (app) => {
    const record = await readRecord(app.leaderHost, app.kubectl);
    const entry = record.get(name);
    if (!entry) {
      throw new HactlError(
        "USAGE",
        `'${name}' is not deployed; the record holds: ${record.size > 0 ? [...record.keys()].join(", ") : "(nothing)"}`,
        {
          remedy: "Run hactl deploy --list to see what is deployed.",
        },
      );
    }
    const what =
      entry.type === "chart"
        ? `helm uninstall ${entry.release ?? name} -n ${entry.namespace ?? "default"}`
        : `delete ${entry.objects.join(", ")} (label hactl.dev/deploy-item=${name})`;
    if (opts.dryRun) {
      ctx.reporter.print(`Would remove ${name}: ${what}, then drop it from the record.`);
      ctx.reporter.result({ dryRun: true, item: name, remove: entry.objects });
      return 0;
    }
    if (ctx.interactive) {
      const { confirm } = await import("../ui/prompts.js");
      if (!(await confirm(`Remove ${name}: ${what}?`, false)))
        throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
    const target = await targetOf(app, ctx, entry.type === "chart");
    const step: Step = {
      id: `deploy-remove:${name}`,
      node: app.leader,
      title: `remove ${name}`,
      describe: [what],
      async run() {
        await removeItem(target, entry);
        await updateRecord(target, (r) => r.delete(name));
        return "changed";
      },
    };
    await applyLocked(
      [{ title: "Remove", mode: "serial", steps: [step] }],
      app.spec,
      app.session,
      { command: "deploy --remove", lockOn: undefined, journalOn: app.leader },
      ctx,
    );
    ctx.reporter.result({ removed: name, objects: entry.objects });
    return 0;
  });
}
