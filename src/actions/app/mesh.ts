/** `hactl linkerd enable|disable` and `hactl autoscale enable|disable`, plus the pieces reconfigure reuses. */
import { z } from "zod";
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import type { Phase, Plan } from "../../core/plan.js";
import { COMMUNITY_ADDON, INJECT_ANNOTATION, LINKERD_ADDON } from "../../distros/linkerd.js";
import { getAutoscalers, getDeployments, getDeploymentsJson, kubectl } from "../../phases/app/kube.js";
import {
  linkerdDisablePhase,
  linkerdEnablePhase,
  type LinkerdInput,
  type LinkerdSource,
  type WorkstationLinkerd,
} from "../../phases/app/linkerd.js";
import { autoscaleDisablePlan, autoscaleEnablePlan } from "../../phases/app/plans.js";
import {
  capacityReport,
  parseNodeCapacity,
  parseNodeProbe,
  parseServiceRequests,
  type NodeCapacity,
} from "../../phases/app/resources.js";
import { autoscaleValues, type AutoscaleValues } from "../../phases/app/values.js";
import { loadSpecFile } from "../../spec/parse.js";
import {
  ANY_DISTRIBUTION,
  appServices,
  MICROK8S_ONLY,
  runAppChange,
  type AnyAppCluster,
  type AppCluster,
  type ChangeOptions,
} from "./common.js";
import type { SpecEdit } from "../runner.js";
import { clusterLinkerd, findWorkstationLinkerd, type ClusterLinkerd, type FoundLinkerd } from "./linkerd-cli.js";
import { byDistribution } from "../../distros/registry.js";

const ROLLOUT_TIMEOUT_SECONDS = 300;
const CHECK_TIMEOUT_MS = 180_000;

const namespaceJson = z.object({ metadata: z.object({ annotations: z.record(z.string(), z.string()).optional() }) });

/** The application's namespace is annotated for injection. */
async function namespaceMeshed(app: AnyAppCluster): Promise<boolean> {
  const ns = await app.leaderHost.exec(app.kubectl("get", "namespace", app.namespace, "-o", "json"));
  return (
    ns.code === 0 && namespaceJson.parse(JSON.parse(ns.stdout)).metadata.annotations?.[INJECT_ANNOTATION] === "enabled"
  );
}

/**
 * Where Linkerd comes from and how much of it is there: on MicroK8s the addons as `microk8s status`
 * reported them; on kubeadm Linkerd's config map, and the operator's CLI (which the caller found).
 */
async function linkerdSource(app: AnyAppCluster, cli: WorkstationLinkerd | undefined): Promise<LinkerdSource> {
  if (app.distribution === "microk8s") {
    const addons = app.state.status.get(app.leader)?.addons;
    return {
      kind: "microk8s-addon",
      communityEnabled: addons?.get(COMMUNITY_ADDON) === "enabled",
      addonEnabled: addons?.get(LINKERD_ADDON) === "enabled",
    };
  }
  if (!cli) throw new HactlError("INTERNAL", "the Linkerd CLI was not looked up for a kubeadm cluster");
  const config = await app.leaderHost.exec(
    app.kubectl("get", "configmap", "linkerd-config", "-n", "linkerd", "-o", "name"),
  );
  return { kind: "workstation-cli", installed: config.code === 0 && config.stdout.trim() !== "", cli };
}

export async function serviceNames(app: AnyAppCluster): Promise<string[]> {
  return appServices(
    app.spec,
    (await getDeployments(app.leaderHost, app.namespace, app.kubectl)).map((d) => d.name),
  );
}

/** Linkerd and the namespace as they are now, and what the Linkerd phases need to change them. */
async function linkerdInput(
  app: AnyAppCluster,
  services: readonly string[],
  cli?: WorkstationLinkerd,
): Promise<LinkerdInput> {
  return {
    leader: app.leader,
    namespace: app.namespace,
    services,
    meshed: await namespaceMeshed(app),
    source: await linkerdSource(app, cli),
    kubectl: app.kubectl,
    checkTimeoutMs: CHECK_TIMEOUT_MS,
    rolloutTimeoutSeconds: ROLLOUT_TIMEOUT_SECONDS,
  };
}

/** The Linkerd phase needed to reach `enabled`, or undefined when the cluster already is that way. */
export async function linkerdPhaseFor(
  app: AnyAppCluster,
  enabled: boolean,
  cli?: WorkstationLinkerd,
): Promise<Phase | undefined> {
  const input = await linkerdInput(app, await serviceNames(app), cli);
  return enabled ? linkerdEnablePhase(input) : linkerdDisablePhase(input);
}

export async function runLinkerd(action: string, opts: ChangeOptions, ctx: RunContext): Promise<number> {
  const enable = parseOnOff(action, "linkerd");
  const spec = (await loadSpecFile(opts.file)).spec;
  // kubeadm: the operator's CLI is found before anything connects or changes; MicroK8s brings its own.
  const found = await byDistribution<(cli: string | undefined) => Promise<FoundLinkerd | undefined>>(spec, {
    microk8s: async () => undefined,
    kubeadm: findWorkstationLinkerd,
  })(spec.spec.linkerd.cli);
  if (found) ctx.reporter.log("hactl", `Linkerd CLI: ${found.path} (${found.version})`);
  let cli: ClusterLinkerd | undefined;
  try {
    return await runAppChange({ ...opts, command: "linkerd", spec, on: ANY_DISTRIBUTION }, ctx, {
      gather: async (app) => {
        cli = found ? clusterLinkerd(found, app.leaderHost) : undefined;
        if (!enable) {
          const autoscalers = await getAutoscalers(app.leaderHost, app.namespace, app.kubectl);
          if (app.spec.spec.autoscaling.enabled || autoscalers.length > 0) {
            throw new HactlError(
              "PREFLIGHT_FAILED",
              "Linkerd cannot be turned off while autoscaling is on: autoscaling needs it",
              {
                remedy: "Run `hactl autoscale disable` first, then `hactl linkerd disable`.",
              },
            );
          }
        }
        return linkerdPhaseFor(app, enable, cli);
      },
      plan: (_app, phase): Plan => (phase ? [phase] : []),
      question: (app) =>
        `${enable ? "Install" : "Remove"} Linkerd ${enable ? "and mesh" : "from"} namespace ${app.namespace}?`,
      edits: () => [[["spec", "linkerd", "enabled"], enable]],
      after: async (app) => ctx.reporter.result({ linkerd: enable, namespace: app.namespace }),
    });
  } finally {
    await cli?.close();
  }
}

export function parseOnOff(action: string, command: string): boolean {
  if (action === "enable") return true;
  if (action === "disable") return false;
  throw new HactlError("USAGE", `hactl ${command} takes 'enable' or 'disable', not '${action}'`, {
    remedy: `Run hactl ${command} enable or hactl ${command} disable.`,
  });
}

/** Node capacity as Kubernetes reports it; nodes that report none are probed over SSH (nproc, MemTotal). */
async function clusterCapacity(app: AppCluster): Promise<NodeCapacity[]> {
  const reported = parseNodeCapacity((await kubectl(app.leaderHost, ["get", "nodes", "-o", "json"])).stdout);
  const out = [...reported];
  for (const node of app.state.kubeNodes) {
    if (reported.some((r) => r.name === node.name)) continue;
    const host = app.session.hosts.get(node.name);
    if (!host) continue;
    const probe = await host.exec({
      argv: ["sh", "-c", "nproc; awk '/^MemTotal:/{print $2}' /proc/meminfo"],
      timeoutMs: 30_000,
    });
    const cap = probe.code === 0 ? parseNodeProbe(node.name, probe.stdout) : undefined;
    if (cap) out.push(cap);
  }
  return out;
}

/** The autoscaling plan (metrics-server, Linkerd, one autoscaler per service) and the capacity warning. */
export async function autoscaleEnableFor(app: AppCluster, values: AutoscaleValues, ctx: RunContext): Promise<Plan> {
  const services = await serviceNames(app);
  if (services.length === 0) {
    throw new HactlError("USAGE", `namespace ${app.namespace} has no Deployments to autoscale`, {
      remedy: "Deploy the application first, or check spec.app.namespace and spec.app.services in cluster.yaml.",
    });
  }
  const requests = parseServiceRequests(await getDeploymentsJson(app.leaderHost, app.namespace)).filter((s) =>
    services.includes(s.name),
  );
  const report = capacityReport(requests, values.minReplicas, await clusterCapacity(app));
  ctx.reporter.warn(report.lines[0] ?? "");
  ctx.reporter.print(report.lines.slice(1).join("\n"));
  ctx.reporter.log("hactl", JSON.stringify(report.data));
  return autoscaleEnablePlan({
    leader: app.leader,
    namespace: app.namespace,
    services,
    existing: await getAutoscalers(app.leaderHost, app.namespace),
    values,
    metricsServerEnabled: app.state.status.get(app.leader)?.addons.get("metrics-server") === "enabled",
    linkerd: await linkerdInput(app, services),
  });
}

export async function autoscaleDisableFor(app: AppCluster): Promise<Plan> {
  return autoscaleDisablePlan({
    leader: app.leader,
    namespace: app.namespace,
    existing: await getAutoscalers(app.leaderHost, app.namespace),
  });
}

export function autoscaleEdits(enabled: boolean, values?: AutoscaleValues): SpecEdit[] {
  const edits: SpecEdit[] = [[["spec", "autoscaling", "enabled"], enabled]];
  if (values) {
    edits.push(
      [["spec", "autoscaling", "minReplicas"], values.minReplicas],
      [["spec", "autoscaling", "maxReplicas"], values.maxReplicas],
      [["spec", "autoscaling", "cpuPercent"], values.cpuPercent],
    );
    edits.push([["spec", "linkerd", "enabled"], true]);
  }
  return edits;
}

export interface AutoscaleFlags extends ChangeOptions {
  min?: string;
  max?: string;
  cpu?: string;
}

export async function runAutoscale(action: string, opts: AutoscaleFlags, ctx: RunContext): Promise<number> {
  const enable = parseOnOff(action, "autoscale");
  return runAppChange({ ...opts, command: "autoscale", on: MICROK8S_ONLY }, ctx, {
    gather: async (app) =>
      enable ? autoscaleValues({ min: opts.min, max: opts.max, cpu: opts.cpu }, app.spec.spec.autoscaling) : undefined,
    plan: (app, values) => (values ? autoscaleEnableFor(app, values, ctx) : autoscaleDisableFor(app)),
    question: () => (enable ? "Turn autoscaling (and Linkerd) on?" : "Remove the autoscalers?"),
    edits: (_app, values) => autoscaleEdits(enable, values),
    after: async (app, values) => {
      const autoscalers = await getAutoscalers(app.leaderHost, app.namespace);
      if (!enable)
        ctx.reporter.info(
          "Autoscaling is off; services keep their current replicas (set them with hactl scale). Linkerd stays on.",
        );
      ctx.reporter.result({ autoscaling: enable, ...(values ?? {}), autoscalers: autoscalers.map((h) => h.name) });
    },
  });
}
