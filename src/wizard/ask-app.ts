/** The application questions: HA mode, autoscaling or Linkerd, and external services as env references. */
import { registerSecret } from "../core/secrets.js";
import type { ExternalServiceName } from "../spec/schema.js";
import { DEFAULTS, EXTERNAL_SERVICES, type Draft, type WizardAnswers } from "./answers.js";
import { exampleOf, parseConnectionString } from "../phases/app/connection-string.js";
import { askInt, type Prompter } from "./prompter.js";
import { both, checkEnvName, orEmpty, type Check } from "./validate.js";

export type AppAnswers = Pick<
  WizardAnswers,
  | "ha"
  | "systemReplicas"
  | "evictionTimeoutSeconds"
  | "autoscaling"
  | "minReplicas"
  | "maxReplicas"
  | "linkerd"
  | "external"
>;

export const LINKERD_FOR_AUTOSCALING =
  "Autoscaling needs Linkerd (the meshed services share load evenly), so Linkerd is turned on as well.";

/**
 * When the variable is set now, its value must look like a connection string for the service. The
 * value is registered for redaction and never shown; unset variables are fine (needed at install).
 */
export function checkServiceEnv(service: ExternalServiceName, env: NodeJS.ProcessEnv): Check {
  return (name) => {
    const value = env[name.trim()];
    if (value === undefined || value === "") return true;
    registerSecret(value);
    const { problems } = parseConnectionString(service, value);
    if (problems.length === 0) return true;
    return `${name.trim()} is set, but its value is not a valid connection string: ${problems.join("; ")} (the shape is ${exampleOf(service)})`;
  };
}

/** "-" removes a service that is already configured (an empty answer keeps the suggested name). */
const NONE = "-";

async function askExternal(
  draft: Draft,
  p: Prompter,
  env: NodeJS.ProcessEnv,
  current: WizardAnswers["external"],
): Promise<WizardAnswers["external"]> {
  const external: WizardAnswers["external"] = { ...draft.external };
  for (const s of EXTERNAL_SERVICES) {
    if (draft.external && s.key in draft.external) continue;
    const check = orEmpty(both(checkEnvName, checkServiceEnv(s.key, env)));
    const initial = current[s.key];
    const none = initial === undefined ? "blank" : NONE;
    const name = await p.input(
      `External ${s.label}: environment variable holding its connection string (${none}: no external ${s.label})`,
      {
        initial,
        validate: (v) => {
          const result = v.trim() === NONE ? true : check(v);
          return result === true
            ? true
            : `${result}. Fix the variable and try again, enter another name, or answer ${none} for none`;
        },
      },
    );
    if (name === "" || name === NONE) continue;
    external[s.key] = name;
    const set = env[name] !== undefined && env[name] !== "";
    p.say(
      set
        ? `${name} is set and looks like a ${s.label} connection string; only its name goes into cluster.yaml.`
        : `${name} is not set now: export it before \`hactl install\`. Only its name goes into cluster.yaml.`,
    );
  }
  return external;
}

export const APP_DEFAULTS: AppAnswers = {
  ha: DEFAULTS.ha,
  systemReplicas: DEFAULTS.systemReplicas,
  evictionTimeoutSeconds: DEFAULTS.evictionTimeoutSeconds,
  autoscaling: DEFAULTS.autoscaling,
  minReplicas: DEFAULTS.minReplicas,
  maxReplicas: DEFAULTS.maxReplicas,
  linkerd: DEFAULTS.linkerd,
  external: {},
};

/**
 * HA, autoscaling or Linkerd, and external services. `current` holds the suggested answers: the
 * defaults for a new cluster, or what cluster.yaml says today (reconfigure).
 */
export async function askApp(
  draft: Draft,
  nodeCount: number,
  p: Prompter,
  env: NodeJS.ProcessEnv,
  current: AppAnswers = APP_DEFAULTS,
): Promise<AppAnswers> {
  const ha =
    draft.ha ??
    (await p.confirm(
      "Turn on HA mode (system services replicated across nodes, workloads leave a failed node quickly)?",
      current.ha,
    ));
  let systemReplicas = draft.systemReplicas ?? current.systemReplicas;
  let evictionTimeoutSeconds = draft.evictionTimeoutSeconds ?? current.evictionTimeoutSeconds;
  if (ha) {
    if (draft.systemReplicas === undefined) {
      const most = Math.min(100, Math.max(3, nodeCount));
      systemReplicas = await askInt(
        p,
        `Replicas of each system service (3 to ${most}, spread across nodes)`,
        3,
        most,
        current.systemReplicas,
      );
    }
    if (draft.evictionTimeoutSeconds === undefined) {
      evictionTimeoutSeconds = await askInt(
        p,
        "Seconds before workloads leave a failed node (10-300)",
        10,
        300,
        current.evictionTimeoutSeconds,
      );
    }
  }
  const autoscaling =
    draft.autoscaling ?? (await p.confirm("Turn on autoscaling of the application's services?", current.autoscaling));
  let minReplicas = draft.minReplicas ?? current.minReplicas;
  let maxReplicas = draft.maxReplicas ?? current.maxReplicas;
  let linkerd: boolean;
  if (autoscaling) {
    if (draft.minReplicas === undefined)
      minReplicas = await askInt(p, "Minimum replicas per service", 1, 1000, current.minReplicas);
    if (draft.maxReplicas === undefined) {
      const atLeastMin: Check = (v) =>
        Number(v) >= minReplicas ? true : `must be at least the minimum (${minReplicas})`;
      maxReplicas = await askInt(
        p,
        "Maximum replicas per service",
        1,
        1000,
        Math.max(minReplicas, current.maxReplicas),
        atLeastMin,
      );
    }
    p.say(LINKERD_FOR_AUTOSCALING);
    linkerd = true;
  } else {
    linkerd =
      draft.linkerd ??
      (await p.confirm("Turn on Linkerd (service mesh; with static replicas, HA needs it)?", current.linkerd));
  }
  const external = await askExternal(draft, p, env, current.external);
  return { ha, systemReplicas, evictionTimeoutSeconds, autoscaling, minReplicas, maxReplicas, linkerd, external };
}
