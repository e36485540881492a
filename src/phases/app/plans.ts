/**
 * Plans of the application commands (scale, autoscale, ha, restart, external services; Linkerd's are in
 * linkerd.ts). The builders are pure: they take what was read from the cluster and return steps; each
 * step's run() is the only part that acts, through the leader's (or a node's) RemoteHost.
 */
import { HactlError } from "../../core/errors.js";
import { need, type RemoteHost } from "../../core/host.js";
import { runs } from "../../core/action.js";
import { actionStep, type Phase, type Plan, type Step, type StepContext } from "../../core/plan.js";
import { microk8s } from "../../distros/microk8s.js";
import type { NodeSpec } from "../../spec/schema.js";
import { APISERVER_ARGS_FILE, withEvictionArgs } from "./apiserver-args.js";
import { getDeployments, kubectl, rollingRestart, waitNodeReady, waitReplicas, type Autoscaler } from "./kube.js";
import { linkerdEnablePhase, type LinkerdInput } from "./linkerd.js";
import type { AutoscaleValues } from "./values.js";

export const EXTERNAL_SECRET_NAME = "hactl-external-services";

/* ---------------- scale ---------------- */

export interface ScaleInput {
  leader: string;
  namespace: string;
  /** service → wanted replicas */
  targets: ReadonlyMap<string, number>;
  /** service → replicas now (spec) */
  current: ReadonlyMap<string, number>;
  timeoutMs: number;
}

export function scalePlan(input: ScaleInput): Plan {
  const steps: Step[] = [...input.targets].map(([name, n]) => ({
    id: `scale:${name}`,
    node: input.leader,
    title: `scale ${name} to ${n} replica(s)`,
    describe: [
      `${input.current.get(name) ?? "?"} → ${n}: kubectl scale deployment/${name} --replicas=${n} -n ${input.namespace}`,
      "then wait until the cluster reports them ready",
    ],
    async run(ctx) {
      const host = need(ctx.hosts, input.leader);
      await kubectl(host, ["scale", `deployment/${name}`, `--replicas=${n}`, "-n", input.namespace], {
        signal: ctx.signal,
      });
      await waitReplicas(host, input.namespace, new Map([[name, n]]), {
        timeoutMs: input.timeoutMs,
        signal: ctx.signal,
        progress: ctx.log,
      });
      return input.current.get(name) === n ? "unchanged" : "changed";
    },
  }));
  return [{ title: "Scale services", mode: "serial", steps }];
}

/* ---------------- autoscale ---------------- */

export interface AutoscaleInput {
  leader: string;
  namespace: string;
  services: readonly string[];
  existing: readonly Autoscaler[];
  values: AutoscaleValues;
  metricsServerEnabled: boolean;
  /** Linkerd as it is now; its phase has the steps that turn it (and the mesh) on. */
  linkerd?: LinkerdInput;
}

export function autoscaleEnablePlan(input: AutoscaleInput): Plan {
  const v = input.values;
  const plan: Phase[] = [];
  if (!input.metricsServerEnabled) {
    plan.push({
      title: "Metrics server",
      mode: "serial",
      steps: [
        actionStep({
          id: "addon:metrics-server",
          node: input.leader,
          title: "enable metrics-server",
          actions: [runs(microk8s.enable("metrics-server"))],
        }),
      ],
    });
  }
  const linkerd = input.linkerd && linkerdEnablePhase(input.linkerd);
  if (linkerd) plan.push(linkerd);
  const steps: Step[] = input.services.map((name) => {
    const have = input.existing.find((h) => h.target === name || h.name === name);
    const same = have !== undefined && have.minReplicas === v.minReplicas && have.maxReplicas === v.maxReplicas;
    return {
      id: `autoscale:${name}`,
      node: input.leader,
      title: `autoscale ${name} (${v.minReplicas}-${v.maxReplicas} replicas at ${v.cpuPercent}% CPU)`,
      describe: [
        ...(have && !same
          ? [`delete hpa/${have.name} (it has ${have.minReplicas ?? "?"}-${have.maxReplicas ?? "?"})`]
          : []),
        `kubectl autoscale deployment ${name} --min=${v.minReplicas} --max=${v.maxReplicas} --cpu-percent=${v.cpuPercent} -n ${input.namespace}`,
      ],
      async run(ctx) {
        if (same) return "unchanged";
        const host = need(ctx.hosts, input.leader);
        if (have)
          await kubectl(
            host,
            ["delete", "horizontalpodautoscaler", have.name, "-n", input.namespace, "--ignore-not-found"],
            { signal: ctx.signal },
          );
        await kubectl(
          host,
          [
            "autoscale",
            "deployment",
            name,
            `--min=${v.minReplicas}`,
            `--max=${v.maxReplicas}`,
            `--cpu-percent=${v.cpuPercent}`,
            "-n",
            input.namespace,
          ],
          {
            signal: ctx.signal,
          },
        );
        return "changed";
      },
    };
  });
  plan.push({ title: "Autoscalers", mode: "serial", steps });
  return plan;
}

export function autoscaleDisablePlan(input: {
  leader: string;
  namespace: string;
  existing: readonly Autoscaler[];
}): Plan {
  return [
    {
      title: "Autoscalers",
      mode: "serial",
      steps: input.existing.map((h) => ({
        id: `unautoscale:${h.name}`,
        node: input.leader,
        title: `remove autoscaler ${h.name}`,
        describe: [
          `kubectl delete hpa ${h.name} -n ${input.namespace} (deployment/${h.target} keeps its current replicas)`,
        ],
        async run(ctx) {
          await kubectl(
            need(ctx.hosts, input.leader),
            ["delete", "horizontalpodautoscaler", h.name, "-n", input.namespace, "--ignore-not-found"],
            { signal: ctx.signal },
          );
          return "changed";
        },
      })),
    },
  ];
}

/* ---------------- restart ---------------- */

export function restartPlan(input: {
  leader: string;
  namespace: string;
  services: readonly string[];
  timeoutSeconds: number;
}): Plan {
  return [
    {
      title: "Rolling restart",
      mode: "serial",
      steps: input.services.map((name) => ({
        id: `restart:${name}`,
        node: input.leader,
        title: `restart ${name}`,
        describe: [
          `kubectl rollout restart deployment/${name} -n ${input.namespace}`,
          `kubectl rollout status deployment/${name} -n ${input.namespace} --timeout=${input.timeoutSeconds}s`,
        ],
        async run(ctx) {
          await rollingRestart(
            need(ctx.hosts, input.leader),
            input.namespace,
            [name],
            input.timeoutSeconds,
            ctx.log,
            ctx.signal,
          );
          return "changed";
        },
      })),
    },
  ];
}

/* ---------------- ha ---------------- */

export interface HaInput {
  /** Nodes to update, in order (strictly one at a time). */
  nodes: readonly NodeSpec[];
  /** For each node, the node whose kubectl to use while it restarts (another control plane when there is one). */
  operatorFor: (node: string) => string;
  leader: string;
  namespace: string;
  /** Eviction timeout to set; undefined restores the default (ha disable). */
  evictionSeconds: number | undefined;
  systemReplicas: number;
  services: readonly string[];
  drainTimeoutSeconds: number;
  readyTimeoutMs: number;
  rolloutTimeoutSeconds: number;
}

export function haPlan(input: HaInput): Plan {
  const progress = { nodesChanged: 0 };
  const setting =
    input.evictionSeconds === undefined
      ? "remove the eviction flags (back to the 300 s default)"
      : `eviction flags = ${input.evictionSeconds}s`;
  const nodeSteps: Step[] = input.nodes.map((node) => ({
    id: `ha:node:${node.name}`,
    node: node.name,
    title:
      node.role === "worker"
        ? "check (workers run no API server)"
        : "cordon, drain, apply settings, restart, wait Ready, uncordon",
    describe:
      node.role === "worker"
        ? ["nothing to change on a worker"]
        : [
            `kubectl cordon ${node.name}; kubectl drain ${node.name} --ignore-daemonsets --delete-emptydir-data --timeout=${input.drainTimeoutSeconds}s`,
            `${APISERVER_ARGS_FILE}: ${setting}`,
            "microk8s stop; microk8s start; wait until Ready",
            `kubectl uncordon ${node.name}`,
          ],
    async run(ctx) {
      if (node.role === "worker") return "unchanged";
      const outcome = await updateNode(node, input, ctx);
      if (outcome === "changed") progress.nodesChanged += 1;
      return outcome;
    },
  }));
  const systemStep: Step = {
    id: "ha:system",
    node: input.leader,
    title: `run system services with ${input.systemReplicas} replica(s)`,
    describe: [
      `every Deployment in kube-system: kubectl scale --replicas=${input.systemReplicas}, then wait until ready`,
    ],
    async run(ctx) {
      const host = need(ctx.hosts, input.leader);
      const deps = await getDeployments(host, "kube-system");
      const want = new Map(deps.map((d) => [d.name, input.systemReplicas]));
      const changed = deps.filter((d) => d.replicas !== input.systemReplicas);
      for (const d of changed) {
        await kubectl(
          host,
          ["scale", `deployment/${d.name}`, `--replicas=${input.systemReplicas}`, "-n", "kube-system"],
          { signal: ctx.signal },
        );
        ctx.log(`kube-system/${d.name}: ${d.replicas} → ${input.systemReplicas}`);
      }
      await waitReplicas(host, "kube-system", want, {
        timeoutMs: input.readyTimeoutMs,
        signal: ctx.signal,
        progress: ctx.log,
      });
      return changed.length > 0 ? "changed" : "unchanged";
    },
  };
  const restartStep: Step = {
    id: "ha:restart-app",
    node: input.leader,
    title: "restart the application's services once",
    describe: [
      ...input.services.map((s) => `kubectl rollout restart deployment/${s} -n ${input.namespace}; rollout status`),
      "(only when a node's settings changed: pods pick up the new eviction defaults when they are created)",
    ],
    async run(ctx) {
      if (progress.nodesChanged === 0) return "unchanged";
      await rollingRestart(
        need(ctx.hosts, input.leader),
        input.namespace,
        input.services,
        input.rolloutTimeoutSeconds,
        ctx.log,
        ctx.signal,
      );
      return "changed";
    },
  };
  return [
    { title: "Update nodes", mode: "serial", steps: nodeSteps },
    { title: "System services", mode: "serial", steps: [systemStep] },
    { title: "Restart the application", mode: "serial", steps: input.services.length > 0 ? [restartStep] : [] },
  ];
}

async function updateNode(node: NodeSpec, input: HaInput, ctx: StepContext): Promise<"changed" | "unchanged"> {
  const self = need(ctx.hosts, node.name);
  const operatorName = input.operatorFor(node.name);
  const operator = need(ctx.hosts, operatorName);
  const current = (await self.readFile(APISERVER_ARGS_FILE, { sudo: true })) ?? "";
  const desired = withEvictionArgs(current, input.evictionSeconds);
  if (desired === current) {
    ctx.log("ha: settings already in place; node left as it is");
    return "unchanged";
  }
  const wait = { timeoutMs: input.readyTimeoutMs, signal: ctx.signal, progress: ctx.log };
  ctx.log(`ha: cordoned ${node.name}`);
  await kubectl(operator, ["cordon", node.name], { signal: ctx.signal });
  try {
    const drained = await operator.exec(
      {
        ...microk8s.kubectl(
          "drain",
          node.name,
          "--ignore-daemonsets",
          "--delete-emptydir-data",
          `--timeout=${input.drainTimeoutSeconds}s`,
        ),
        timeoutMs: (input.drainTimeoutSeconds + 60) * 1000,
      },
      { signal: ctx.signal },
    );
    if (drained.code !== 0) {
      throw new HactlError("COMMAND_FAILED", `draining ${node.name} failed`, {
        node: node.name,
        details: `${drained.stdout}\n${drained.stderr}`.trim().split("\n").slice(-4).join("\n"),
        remedy: `Fix what blocks the drain (a PodDisruptionBudget, pods without a controller), then run the same command again. ${node.name} stays cordoned until then; \`microk8s kubectl uncordon ${node.name}\` undoes that by hand.`,
      });
    }
    ctx.log(`ha: drained ${node.name}`);
    await self.writeFile(APISERVER_ARGS_FILE, desired, { sudo: true, backup: true, mode: 0o644 });
    ctx.log(`ha: wrote ${APISERVER_ARGS_FILE}`);
    await self.run({ argv: ["microk8s", "stop"], sudo: true, timeoutMs: 300_000 }, { signal: ctx.signal });
    await self.run({ argv: ["microk8s", "start"], sudo: true, timeoutMs: 300_000 }, { signal: ctx.signal });
    ctx.log(`ha: restarted MicroK8s on ${node.name}`);
    await waitNodeReady(operator, node.name, wait);
  } catch (err) {
    ctx.log(`ha: ${node.name} stays cordoned after a failure`);
    throw err;
  }
  await kubectl(operator, ["uncordon", node.name], { signal: ctx.signal });
  ctx.log(`ha: uncordoned ${node.name}`);
  return "changed";
}

/* ---------------- external services ---------------- */

export interface ExternalSecretInput {
  leader: string;
  namespace: string;
  /** Secret key → value. The values travel only on kubectl's stdin. */
  values: ReadonlyMap<string, string>;
}

/** The Secret manifest as JSON (values base64-encoded); it goes to kubectl on stdin only. */
export function externalSecretManifest(namespace: string, values: ReadonlyMap<string, string>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name: EXTERNAL_SECRET_NAME, namespace, labels: { "app.kubernetes.io/managed-by": "hactl" } },
    data: Object.fromEntries([...values].map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
  });
}

export function externalSecretPlan(input: ExternalSecretInput): Plan {
  const keys = [...input.values.keys()];
  return [
    {
      title: "External services",
      mode: "serial",
      steps: [
        {
          id: "external-services:secret",
          node: input.leader,
          title: `store ${keys.length} connection string(s) in secret ${EXTERNAL_SECRET_NAME}`,
          describe: [
            `namespace ${input.namespace}, keys ${keys.join(", ")} (values go to kubectl on stdin, never on a command line)`,
          ],
          async run(ctx) {
            const host = need(ctx.hosts, input.leader);
            await ensureNamespace(host, input.namespace, ctx);
            await kubectl(host, ["apply", "--server-side", "--force-conflicts", "--field-manager=hactl", "-f", "-"], {
              stdin: externalSecretManifest(input.namespace, input.values),
              signal: ctx.signal,
            });
            return "changed";
          },
        },
      ],
    },
  ];
}

/** Creates the namespace when missing, without touching an existing one's annotations. */
async function ensureNamespace(host: RemoteHost, namespace: string, ctx: StepContext): Promise<void> {
  const found = await host.exec(microk8s.kubectl("get", "namespace", namespace, "-o", "name"), { signal: ctx.signal });
  if (found.code === 0) return;
  await kubectl(host, ["create", "namespace", namespace], { signal: ctx.signal });
  ctx.log(`created namespace ${namespace}`);
}
