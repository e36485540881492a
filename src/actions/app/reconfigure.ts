/**
 * `hactl reconfigure`: HA, autoscaling, Linkerd and external services asked again (prefilled from
 * cluster.yaml; flags answer without a terminal), the change shown, applied with the same plans as the
 * single commands, and recorded in cluster.yaml.
 */
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
import { askApp, type AppAnswers } from "../../wizard/ask-app.js";
import { appAnswersFromSpec } from "../../wizard/from-spec.js";
import { terminalPrompter, type Prompter } from "../../wizard/prompter.js";
import { PATTERNS, type ClusterSpec, type ExternalServicesSpec, type SecretRef } from "../../spec/schema.js";
import { MICROK8S_ONLY, requireMicrok8s, runAppChange, type ChangeOptions } from "./common.js";
import type { SpecEdit } from "../runner.js";
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

/**
 * The wizard's application questions (wizard/ask-app.ts, with its connection-string check), each
 * prefilled with `start`: cluster.yaml's values with the flags over them.
 */
export async function askSettings(spec: ClusterSpec, start: AppSettings, p: Prompter): Promise<AppSettings> {
  const current = appAnswersFromSpec({ ...spec, spec: { ...spec.spec, ...start } });
  return settingsFromAnswers(start, await askApp({}, spec.spec.nodes.length, p, process.env, current));
}

/**
 * The answers as settings. What the questions do not ask stays as it was: the CPU target, and a
 * { file: PATH } connection string when the service's answer is blank.
 */
export function settingsFromAnswers(start: AppSettings, a: AppAnswers): AppSettings {
  const externalServices: ExternalServicesSpec = {};
  for (const service of EXTERNAL_SECRETS_ORDER) {
    const env = a.external[service];
    const kept = start.externalServices[service];
    if (env !== undefined) externalServices[service] = { env };
    else if (kept && "file" in kept) externalServices[service] = kept;
  }
  return {
    ha: { enabled: a.ha, systemReplicas: a.systemReplicas, evictionTimeoutSeconds: a.evictionTimeoutSeconds },
    autoscaling: {
      enabled: a.autoscaling,
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      cpuPercent: start.autoscaling.cpuPercent,
    },
    linkerd: { enabled: a.linkerd },
    externalServices,
  };
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
  if (ctx.interactive) next = await askSettings(spec, next, terminalPrompter(ctx.reporter));
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
  return runAppChange({ ...flags, command: "reconfigure", spec: desired, on: MICROK8S_ONLY }, ctx, {
    plan: async (app) => [
      ...(spec.spec.ha.enabled && !next.ha.enabled ? await haPlanFor(app, undefined) : []),
      ...(await appStatePlan(app, ctx)),
    ],
    question: () => "Apply these changes to the cluster and save cluster.yaml?",
    describe: () => ({ changes: lines }),
    edits: () => edits,
    after: async () =>
      ctx.reporter.result({ changes: lines, ...next, externalServices: Object.keys(next.externalServices) }),
  });
}
