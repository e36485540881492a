/** `hactl scale SERVICE|all REPLICAS` and `hactl restart [SERVICE|all]`. */
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import { getAutoscalers, getDeployments } from "../../phases/app/kube.js";
import type { KubeDeployment } from "../../distros/kubectl.js";
import { restartPlan, scalePlan } from "../../phases/app/plans.js";
import { checkServiceName, parseIntFlag, parseReplicas } from "../../phases/app/values.js";
import { appServices, MICROK8S_ONLY, runAppChange, type AppCluster, type ChangeOptions } from "./common.js";

export interface WaitingOptions extends ChangeOptions {
  /** Seconds to wait for the replicas or the rollout. */
  timeout: string;
}

/** The services a SERVICE|all argument names; an unknown name lists the ones that exist. */
export function pickServices(arg: string, existing: readonly string[], namespace: string): string[] {
  if (arg === "all") {
    if (existing.length === 0) {
      throw new HactlError("USAGE", `the application has no services: namespace ${namespace} has no Deployments`, {
        remedy: "Deploy the application first, or check spec.app.namespace and spec.app.services in cluster.yaml.",
      });
    }
    return [...existing];
  }
  checkServiceName(arg);
  if (!existing.includes(arg)) {
    throw new HactlError(
      "USAGE",
      `there is no service '${arg}' in namespace ${namespace}; the services are: ${existing.length > 0 ? existing.join(", ") : "(none)"}`,
      {
        remedy: `Use one of ${[...existing, "all"].join(", ")}.`,
      },
    );
  }
  return [arg];
}

/** The Deployments and the services a command acts on: `all` or one name, checked against them. */
async function servicesToChange(
  app: AppCluster,
  service: string,
): Promise<{ deployments: KubeDeployment[]; names: string[] }> {
  const deployments = await getDeployments(app.leaderHost, app.namespace);
  const names = pickServices(
    service,
    appServices(
      app.spec,
      deployments.map((d) => d.name),
    ),
    app.namespace,
  );
  return { deployments, names };
}

function autoscalingRefusal(reason: string): HactlError {
  return new HactlError(
    "PREFLIGHT_FAILED",
    `manual scaling is refused while autoscaling is on (${reason}): the autoscalers would undo it`,
    {
      remedy:
        "Turn autoscaling off first with `hactl autoscale disable`, then scale; or change the range with `hactl autoscale enable --min N --max M`.",
    },
  );
}

export async function runScale(
  service: string,
  replicasArg: string,
  opts: WaitingOptions,
  ctx: RunContext,
): Promise<number> {
  const replicas = parseReplicas(replicasArg);
  const timeoutSeconds = parseIntFlag("--timeout", opts.timeout, 1, 3600, "seconds");
  if (service !== "all") checkServiceName(service);
  return runAppChange({ ...opts, command: "scale", on: MICROK8S_ONLY }, ctx, {
    gather: async (app) => {
      if (app.spec.spec.autoscaling.enabled)
        throw autoscalingRefusal("spec.autoscaling.enabled is true in cluster.yaml");
      const autoscalers = await getAutoscalers(app.leaderHost, app.namespace);
      if (autoscalers.length > 0)
        throw autoscalingRefusal(`autoscalers exist for ${autoscalers.map((h) => h.target).join(", ")}`);
      return servicesToChange(app, service);
    },
    plan: (app, { deployments, names }) =>
      scalePlan({
        leader: app.leader,
        namespace: app.namespace,
        targets: new Map(names.map((n) => [n, replicas])),
        current: new Map(deployments.map((d) => [d.name, d.replicas])),
        timeoutMs: timeoutSeconds * 1000,
      }),
    question: (_app, { names }) => `Scale ${names.join(", ")} to ${replicas} replica(s)?`,
    edits: (_app, { names }) => names.map((n) => [["spec", "replicas", n], replicas] as const),
    after: async (app, { names }) => {
      ctx.reporter.result({ namespace: app.namespace, replicas: await readBack(app, names) });
    },
  });
}

/** Replicas as the cluster reports them after the change. */
async function readBack(
  app: AppCluster,
  names: readonly string[],
): Promise<Record<string, { replicas: number; ready: number }>> {
  const now = await getDeployments(app.leaderHost, app.namespace);
  return Object.fromEntries(
    now.filter((d) => names.includes(d.name)).map((d) => [d.name, { replicas: d.replicas, ready: d.readyReplicas }]),
  );
}

export async function runRestart(service: string, opts: WaitingOptions, ctx: RunContext): Promise<number> {
  const timeoutSeconds = parseIntFlag("--timeout", opts.timeout, 1, 3600, "seconds");
  if (service !== "all") checkServiceName(service);
  return runAppChange({ ...opts, command: "restart", on: MICROK8S_ONLY }, ctx, {
    gather: (app) => servicesToChange(app, service),
    plan: (app, { names }) =>
      restartPlan({ leader: app.leader, namespace: app.namespace, services: names, timeoutSeconds }),
    question: (_app, { names }) => `Restart ${names.join(", ")} (rolling)?`,
    after: async (app, { names }) => ctx.reporter.result({ namespace: app.namespace, restarted: names }),
  });
}
