/**
 * Converging the application's day-2 state to cluster.yaml: Linkerd, autoscaling or static replicas,
 * HA settings and external services. `reconfigure` uses it, and `install` calls applyAppState() so a
 * fresh install re-applies what earlier commands recorded. Each part is empty when already in place.
 */
import type { RunContext } from "../../core/context.js";
import { applyPlan } from "../../core/executor.js";
import type { Phase, Plan } from "../../core/plan.js";
import { getAutoscalers, getDeployments } from "../../phases/app/kube.js";
import { scalePlan } from "../../phases/app/plans.js";
import type { ClusterSpec } from "../../spec/schema.js";
import type { Session } from "../session.js";
import { clusterOf, type AppCluster } from "./common.js";
import { checkReachability, externalPlanFor, resolveExternalServices } from "./external.js";
import { haPlanFor } from "./ha.js";
import { autoscaleDisableFor, autoscaleEnableFor, linkerdPhaseFor } from "./mesh.js";

const SCALE_TIMEOUT_MS = 300_000;

/** Whether cluster.yaml records any application state (replicas, autoscaling, Linkerd, HA, external services). */
export function hasAppSettings(spec: ClusterSpec): boolean {
  const s = spec.spec;
  const external = Object.values(s.externalServices).some((ref) => ref !== undefined);
  return Object.keys(s.replicas).length > 0 || s.autoscaling.enabled || s.linkerd.enabled || s.ha.enabled || external;
}

/** The plan that makes the cluster match spec (read from the cluster now; nothing is changed). */
export async function appStatePlan(app: AppCluster, ctx: RunContext): Promise<Plan> {
  const s = app.spec.spec;
  const connections = await resolveExternalServices(app.spec, ctx);
  if (connections.length > 0) await checkReachability(app, connections, ctx);
  const plan: Phase[] = [];
  if (s.autoscaling.enabled) {
    plan.push(...(await autoscaleEnableFor(app, s.autoscaling, ctx)));
  } else {
    const linkerd = await linkerdPhaseFor(app, s.linkerd.enabled);
    if (linkerd) plan.push(linkerd);
    if ((await getAutoscalers(app.leaderHost, app.namespace)).length > 0)
      plan.push(...(await autoscaleDisableFor(app)));
    const deployments = await getDeployments(app.leaderHost, app.namespace);
    const targets = new Map(
      Object.entries(s.replicas).filter(([name, n]) => deployments.some((d) => d.name === name && d.replicas !== n)),
    );
    if (targets.size > 0) {
      plan.push(
        ...scalePlan({
          leader: app.leader,
          namespace: app.namespace,
          targets,
          current: new Map(deployments.map((d) => [d.name, d.replicas])),
          timeoutMs: SCALE_TIMEOUT_MS,
        }),
      );
    }
  }
  if (s.ha.enabled) plan.push(...(await haPlanFor(app, s.ha)));
  plan.push(...externalPlanFor(app, connections));
  return plan;
}

/** Applies cluster.yaml's application state over an open session (install calls this at its end). */
export async function applyAppState(spec: ClusterSpec, session: Session, ctx: RunContext): Promise<void> {
  const app = await clusterOf(spec, "", session);
  const plan = await appStatePlan(app, ctx);
  await applyPlan(plan, { hosts: session.hosts, reporter: ctx.reporter, signal: ctx.signal });
}
