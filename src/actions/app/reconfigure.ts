/**
 * `hactl reconfigure`: HA, autoscaling, Linkerd and external services asked again (prefilled from
 * cluster.yaml; flags answer without a terminal), the change shown, applied with the same plans as the
 * single commands, and recorded in cluster.yaml.
 */
import { planJson } from "../../core/plan.js";
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import { EXTERNAL_SECRETS_ORDER } from "../../phases/app/connection-string.js";
import {
  autoscaleValues,
  haValues,
  checkHaNodeCount,
  type AutoscaleValues,
  type HaValues,
} from "../../phases/app/values.js";
import { loadSpecFile } from "../../spec/parse.js";
import { describeSecretRef } from "../../spec/secrets.js";
import { PATTERNS, type ClusterSpec, type ExternalServicesSpec, type SecretRef } from "../../spec/schema.js";
import { recordInSpec, requireMicrok8s, runPlan, withCluster, type ChangeOptions, type SpecEdit } from "./common.js";
import { haPlanFor } from "./ha.js";
import { appStatePlan } from "./state.js";

export interface ReconfigureFlags extends ChangeOptions {
  ha?: string;
  systemReplicas?: string;
  evictionTimeout?: string;
  autoscale?: string;
  min?: string;
  max?: string;
  cpu?: string;
  linkerd?: string;
  /** SERVICE=env:NAME, SERVICE=file:PATH or SERVICE=none, repeatable. */
  external?: string[];
}

export interface AppSettings {
  ha: { enabled: boolean } & HaValues;
  autoscaling: { enabled: boolean } & AutoscaleValues;
  linkerd: { enabled: boolean };
  externalServices: ExternalServicesSpec;
}

function onOff(flag: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (["on", "true", "yes", "enable", "enabled"].includes(raw)) return true;
  if (["off", "false", "no", "disable", "disabled"].includes(raw)) return false;
  throw new HactlError("USAGE", `${flag} takes on or off, not '${raw}'`, { remedy: `Give ${flag} on or ${flag} off.` });
}

/** SERVICE=env:NAME | SERVICE=file:PATH | SERVICE=none */
export function parseExternalFlag(raw: string): [keyof ExternalServicesSpec, SecretRef | undefined] {
  const m = /^([a-z0-9]+)=(env:|file:)?(.*)$/.exec(raw);
  const service = EXTERNAL_SECRETS_ORDER.find((s) => s === m?.[1]);
  const remedy = `Write --external SERVICE=env:NAME or SERVICE=file:PATH (or SERVICE=none), SERVICE one of ${EXTERNAL_SECRETS_ORDER.join(", ")}.`;
  if (!m || !service) throw new HactlError("USAGE", "--external names an unknown service or has no '='", { remedy });
  if (m[2] === undefined && m[3] === "none") return [service, undefined];
  if (m[2] === "env:" && PATTERNS.ENV_NAME.test(m[3] ?? "")) return [service, { env: m[3] ?? "" }];
  if (m[2] === "file:" && (m[3] ?? "") !== "" && PATTERNS.SAFE_PATH.test(m[3] ?? ""))
    return [service, { file: m[3] ?? "" }];
  throw new HactlError(
    "USAGE",
    `--external ${service}= needs env:NAME (an environment variable name) or file:PATH; the value itself is never given on the command line`,
    { remedy },
  );
}

/** The answers from flags, falling back to cluster.yaml. */
export function settingsFromFlags(spec: ClusterSpec, flags: ReconfigureFlags): AppSettings {
  const s = spec.spec;
  const haOn = onOff("--ha", flags.ha, s.ha.enabled);
  const autoscaleOn = onOff("--autoscale", flags.autoscale, s.autoscaling.enabled);
  const external: ExternalServicesSpec = { ...s.externalServices };
  for (const raw of flags.external ?? []) {
    const [service, ref] = parseExternalFlag(raw);
    if (ref) external[service] = ref;
    else delete external[service];
  }
  const linkerdOn = onOff("--linkerd", flags.linkerd, s.linkerd.enabled);
  return {
    ha: { enabled: haOn, ...(haOn ? haValues(flags, s.ha) : s.ha) },
    autoscaling: { enabled: autoscaleOn, ...(autoscaleOn ? autoscaleValues(flags, s.autoscaling) : s.autoscaling) },
    linkerd: { enabled: linkerdOn },
    externalServices: external,
  };
}

/** The wizard's questions, each prefilled with the current answer. */
async function askSettings(spec: ClusterSpec, start: AppSettings): Promise<AppSettings> {
  const { confirm, input } = await import("../../ui/prompts.js");
  const num = async (message: string, initial: number, check: (v: string) => void): Promise<string> =>
    input(message, {
      initial: String(initial),
      validate: (v) => {
        try {
          check(v);
          return true;
        } catch (e) {
          return e instanceof Error ? e.message : String(e);
        }
      },
    });
  const haOn = await confirm(
    `HA mode (system services on every node, fast eviction)? It needs 3+ nodes; cluster.yaml has ${spec.spec.nodes.length}.`,
    start.ha.enabled,
  );
  let ha: AppSettings["ha"] = { ...start.ha, enabled: haOn };
  if (haOn) {
    const systemReplicas = await num("System service replicas (3-100)", start.ha.systemReplicas, (v) =>
      haValues({ systemReplicas: v }, start.ha),
    );
    const evictionTimeout = await num("Eviction timeout in seconds (10-300)", start.ha.evictionTimeoutSeconds, (v) =>
      haValues({ evictionTimeout: v }, start.ha),
    );
    ha = { enabled: true, ...haValues({ systemReplicas, evictionTimeout }, start.ha) };
  }
  const autoOn = await confirm("Autoscaling (an autoscaler per service; turns Linkerd on)?", start.autoscaling.enabled);
  let autoscaling: AppSettings["autoscaling"] = { ...start.autoscaling, enabled: autoOn };
  if (autoOn) {
    const min = await num("Minimum replicas", start.autoscaling.minReplicas, (v) =>
      autoscaleValues({ min: v, max: String(Math.max(Number(v), start.autoscaling.maxReplicas)) }, start.autoscaling),
    );
    const max = await num("Maximum replicas", Math.max(start.autoscaling.maxReplicas, Number(min)), (v) =>
      autoscaleValues({ min, max: v }, start.autoscaling),
    );
    const cpu = await num("Target CPU utilisation in percent", start.autoscaling.cpuPercent, (v) =>
      autoscaleValues({ min, max, cpu: v }, start.autoscaling),
    );
    autoscaling = { enabled: true, ...autoscaleValues({ min, max, cpu }, start.autoscaling) };
  }
  const linkerdOn = autoOn ? true : await confirm("Linkerd service mesh for the application?", start.linkerd.enabled);
  const externalServices: ExternalServicesSpec = { ...start.externalServices };
  for (const service of EXTERNAL_SECRETS_ORDER) {
    const ref = start.externalServices[service];
    if (ref && "file" in ref) continue;
    const name = await input(`Environment variable holding the ${service} connection string (empty: none)`, {
      initial: ref && "env" in ref ? ref.env : "",
      validate: (v) => v === "" || PATTERNS.ENV_NAME.test(v) || "an environment variable name: letters, digits and '_'",
    });
    if (name === "") delete externalServices[service];
    else externalServices[service] = { env: name };
  }
  return { ha, autoscaling, linkerd: { enabled: linkerdOn }, externalServices };
}

const refText = (ref: SecretRef | undefined): string => (ref ? describeSecretRef(ref) : "none");

/** The cluster.yaml edits and a line per change ("field: old → new"). */
export function settingsDiff(spec: ClusterSpec, next: AppSettings): { edits: SpecEdit[]; lines: string[] } {
  const s = spec.spec;
  const edits: SpecEdit[] = [];
  const lines: string[] = [];
  const cmp = (path: string[], before: unknown, after: unknown, show: (v: unknown) => string = String): void => {
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    edits.push([["spec", ...path], after]);
    lines.push(`  ${path.join(".")}: ${show(before)} → ${show(after)}`);
  };
  cmp(["ha", "enabled"], s.ha.enabled, next.ha.enabled);
  if (next.ha.enabled) {
    cmp(["ha", "systemReplicas"], s.ha.systemReplicas, next.ha.systemReplicas);
    cmp(["ha", "evictionTimeoutSeconds"], s.ha.evictionTimeoutSeconds, next.ha.evictionTimeoutSeconds);
  }
  cmp(["autoscaling", "enabled"], s.autoscaling.enabled, next.autoscaling.enabled);
  if (next.autoscaling.enabled) {
    cmp(["autoscaling", "minReplicas"], s.autoscaling.minReplicas, next.autoscaling.minReplicas);
    cmp(["autoscaling", "maxReplicas"], s.autoscaling.maxReplicas, next.autoscaling.maxReplicas);
    cmp(["autoscaling", "cpuPercent"], s.autoscaling.cpuPercent, next.autoscaling.cpuPercent);
  }
  cmp(["linkerd", "enabled"], s.linkerd.enabled, next.linkerd.enabled);
  for (const service of EXTERNAL_SECRETS_ORDER) {
    cmp(["externalServices", service], s.externalServices[service], next.externalServices[service], (v) =>
      refText(v as SecretRef | undefined),
    );
  }
  return { edits, lines };
}

export async function runReconfigure(flags: ReconfigureFlags, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(flags.file);
  requireMicrok8s(spec);
  let next = settingsFromFlags(spec, flags);
  if (ctx.interactive) next = await askSettings(spec, next);
  if (next.autoscaling.enabled && !next.linkerd.enabled) {
    ctx.reporter.info("Autoscaling needs Linkerd: Linkerd is turned on as well.");
    next = { ...next, linkerd: { enabled: true } };
  }
  if (next.ha.enabled) checkHaNodeCount(spec.spec.nodes.length, "cluster.yaml");
  const { edits, lines } = settingsDiff(spec, next);
  ctx.reporter.phase("Changes to cluster.yaml");
  ctx.reporter.print(
    lines.length > 0 ? lines.join("\n") : "  none (the cluster is checked against cluster.yaml anyway)",
  );
  const desired: ClusterSpec = { ...spec, spec: { ...spec.spec, ...next } };
  desired.spec.externalServices = next.externalServices;
  return withCluster(flags.file, ctx, { command: "reconfigure", lock: !flags.dryRun, spec: desired }, async (app) => {
    const plan = [
      ...(spec.spec.ha.enabled && !next.ha.enabled ? await haPlanFor(app, undefined) : []),
      ...(await appStatePlan(app, ctx)),
    ];
    const summary = await runPlan(plan, app, ctx, {
      dryRun: flags.dryRun,
      question: "Apply these changes to the cluster and save cluster.yaml?",
    });
    if (!summary) {
      ctx.reporter.result({ dryRun: true, changes: lines, plan: planJson(plan) });
      return 0;
    }
    await recordInSpec(
      flags.file,
      edits.map(([path, value]) => [path, value] as const),
      ctx,
    );
    ctx.reporter.result({ changes: lines, ...next, externalServices: Object.keys(next.externalServices) });
    return 0;
  });
}
