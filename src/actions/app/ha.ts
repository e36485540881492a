/** `hactl ha enable|disable`: eviction settings node by node, system replicas, one application restart. */
import type { RunContext } from "../../core/context.js";
import { HactlError } from "../../core/errors.js";
import type { Plan } from "../../core/plan.js";
import { loadSpecFile } from "../../spec/parse.js";
import { haPlan } from "../../phases/app/plans.js";
import { checkHaNodeCount, haValues, type HaValues } from "../../phases/app/values.js";
import { parseOnOff, serviceNames } from "./mesh.js";
import { MICROK8S_ONLY, requireMicrok8s, runAppChange, type AppCluster, type ChangeOptions } from "./common.js";
import type { SpecEdit } from "../runner.js";

const DRAIN_TIMEOUT_SECONDS = 120;
const READY_TIMEOUT_MS = 300_000;
const ROLLOUT_TIMEOUT_SECONDS = 300;

/** For each node, a running control plane other than itself to drive kubectl while it restarts. */
export function operatorChooser(app: AppCluster): (node: string) => string {
  const running = app.spec.spec.nodes
    .filter(
      (n) =>
        n.role === "control-plane" &&
        app.state.status.get(n.name)?.running === true &&
        !app.state.status.get(n.name)?.isWorker,
    )
    .map((n) => n.name);
  return (node) => running.find((n) => n !== node) ?? app.leader;
}

/** The HA plan for the cluster: enable with values, or disable (undefined). */
export async function haPlanFor(app: AppCluster, values: HaValues | undefined): Promise<Plan> {
  if (values) checkHaNodeCount(app.state.kubeNodes.length, "the cluster");
  const notReady = app.state.kubeNodes.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length > 0) {
    throw new HactlError(
      "UNHEALTHY",
      `nodes not Ready: ${notReady.join(", ")}; updating nodes one at a time needs every node up`,
      {
        remedy: "Bring the nodes back (hactl status shows why), then run the same command again.",
      },
    );
  }
  return haPlan({
    nodes: app.spec.spec.nodes.filter((n) => app.state.kubeNodes.some((k) => k.name === n.name)),
    operatorFor: operatorChooser(app),
    leader: app.leader,
    namespace: app.namespace,
    evictionSeconds: values?.evictionTimeoutSeconds,
    systemReplicas: values?.systemReplicas ?? 1,
    services: await serviceNames(app),
    drainTimeoutSeconds: DRAIN_TIMEOUT_SECONDS,
    readyTimeoutMs: READY_TIMEOUT_MS,
    rolloutTimeoutSeconds: ROLLOUT_TIMEOUT_SECONDS,
  });
}

export function haEdits(values: HaValues | undefined): SpecEdit[] {
  if (!values) return [[["spec", "ha", "enabled"], false]];
  return [
    [["spec", "ha", "enabled"], true],
    [["spec", "ha", "systemReplicas"], values.systemReplicas],
    [["spec", "ha", "evictionTimeoutSeconds"], values.evictionTimeoutSeconds],
  ];
}

export interface HaFlags extends ChangeOptions {
  systemReplicas?: string;
  evictionTimeout?: string;
}

export async function runHa(action: string, opts: HaFlags, ctx: RunContext): Promise<number> {
  const enable = parseOnOff(action, "ha");
  const { spec } = await loadSpecFile(opts.file);
  requireMicrok8s(spec);
  const values = enable
    ? haValues({ systemReplicas: opts.systemReplicas, evictionTimeout: opts.evictionTimeout }, spec.spec.ha)
    : undefined;
  if (enable) checkHaNodeCount(spec.spec.nodes.length, "cluster.yaml");
  return runAppChange({ ...opts, command: "ha", spec, on: MICROK8S_ONLY }, ctx, {
    plan: (app) => haPlanFor(app, values),
    question: () =>
      enable
        ? `Update ${spec.spec.nodes.length} nodes one at a time (eviction ${values?.evictionTimeoutSeconds}s, system replicas ${values?.systemReplicas})?`
        : "Restore the default eviction timeout node by node and run system services with 1 replica?",
    edits: () => haEdits(values),
    after: async () => ctx.reporter.result({ ha: enable, ...(values ?? {}) }),
  });
}
